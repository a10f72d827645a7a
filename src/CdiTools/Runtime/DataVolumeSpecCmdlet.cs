using System.Collections;
using System.Management.Automation;
using CdiTools.Cluster.DataVolumes;

namespace CdiTools.Runtime;

/// <summary>
/// The parameters that describe a DataVolume's source and storage, shared by the cmdlets that
/// create one (New-CdiDataVolume) and that test one before it is created (Test-CdiScratchSpace),
/// so both take a DataVolume the same way (New-CdiDataVolume also from CSV columns).
/// </summary>
public abstract class DataVolumeSpecCmdlet : ClusterCmdlet
{
    protected const string HttpSet = "Http";
    protected const string RegistrySet = "Registry";
    protected const string ImageStreamSet = "ImageStream";
    protected const string UploadSet = "Upload";
    protected const string BlankSet = "Blank";
    protected const string PvcSet = "Pvc";
    protected const string SnapshotSet = "Snapshot";
    protected const string DataSourceSet = "DataSource";
    protected const string S3Set = "S3";
    protected const string GcsSet = "Gcs";
    protected const string ImageIoSet = "ImageIo";
    protected const string VddkSet = "Vddk";

    /// <summary>The namespace; the context's when omitted (with -AsManifest: none, so kubectl's current one).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>An http(s) URL of the image; -Uri as in Import-CdiImage works too.</summary>
    [Parameter(Mandatory = true, ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Uri")]
    public string? Url { get; set; }

    /// <summary>A container image holding the disk: docker://registry/image:tag or oci-archive://path.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RegistrySet, ValueFromPipelineByPropertyName = true)]
    public string? RegistryUrl { get; set; }

    /// <summary>An OpenShift ImageStream to import (node pull only).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageStreamSet, ValueFromPipelineByPropertyName = true)]
    public string? ImageStream { get; set; }

    /// <summary>A DataVolume to upload into (Import-CdiImage -Namespace does the upload).</summary>
    [Parameter(Mandatory = true, ParameterSetName = UploadSet)]
    public SwitchParameter Upload { get; set; }

    /// <summary>An empty disk.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BlankSet)]
    public SwitchParameter Blank { get; set; }

    /// <summary>A PVC to clone.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PvcSet, ValueFromPipelineByPropertyName = true)]
    public string? SourcePvc { get; set; }

    /// <summary>A VolumeSnapshot to restore.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SnapshotSet, ValueFromPipelineByPropertyName = true)]
    public string? SourceSnapshot { get; set; }

    /// <summary>A CDI DataSource (a golden image) to clone, through spec.sourceRef.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DataSourceSet, ValueFromPipelineByPropertyName = true)]
    public string? SourceDataSource { get; set; }

    /// <summary>The clone source's namespace; the DataVolume's when omitted.</summary>
    [Parameter(ParameterSetName = PvcSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = SnapshotSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = DataSourceSet, ValueFromPipelineByPropertyName = true)]
    public string? SourceNamespace { get; set; }

    /// <summary>An S3 object URL (http or https endpoint).</summary>
    [Parameter(Mandatory = true, ParameterSetName = S3Set, ValueFromPipelineByPropertyName = true)]
    public string? S3Url { get; set; }

    /// <summary>A Google Cloud Storage object: gs://bucket/object or an http(s) URL.</summary>
    [Parameter(Mandatory = true, ParameterSetName = GcsSet, ValueFromPipelineByPropertyName = true)]
    public string? GcsUrl { get; set; }

    /// <summary>The oVirt engine's API URL.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageIoSet, ValueFromPipelineByPropertyName = true)]
    public string? ImageIoUrl { get; set; }

    /// <summary>The disk's id on the oVirt engine.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageIoSet, ValueFromPipelineByPropertyName = true)]
    public string? DiskId { get; set; }

    /// <summary>The vCenter or ESXi URL.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? VddkUrl { get; set; }

    /// <summary>The VM's UUID in vCenter or ESXi.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? Uuid { get; set; }

    /// <summary>The disk's backing file: "[datastore] vm/vm.vmdk".</summary>
    [Parameter(Mandatory = true, ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? BackingFile { get; set; }

    /// <summary>The SHA-1 thumbprint of the host's certificate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? Thumbprint { get; set; }

    /// <summary>An image with the VDDK library, overriding CDI's v2v-vmware ConfigMap.</summary>
    [Parameter(ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? InitImageUrl { get; set; }

    /// <summary>A ConfigMap with extra VDDK arguments.</summary>
    [Parameter(ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? ExtraArgs { get; set; }

    /// <summary>The user name and password (or access key and secret key); stored in a new Secret owned by the DataVolume.</summary>
    [Parameter(ParameterSetName = HttpSet)]
    [Parameter(ParameterSetName = RegistrySet)]
    [Parameter(ParameterSetName = S3Set)]
    [Parameter(ParameterSetName = ImageIoSet)]
    [Parameter(ParameterSetName = VddkSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>A Google service account key (JSON) for a GCS source; stored in a new Secret as credentials.json.</summary>
    [Parameter(ParameterSetName = GcsSet, ValueFromPipelineByPropertyName = true)]
    public string? ServiceAccountKeyFile { get; set; }

    /// <summary>An existing Secret with the credentials (accessKeyId and secretKey; for GCS, credentials.json).</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = RegistrySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ImageStreamSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = S3Set, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = GcsSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ImageIoSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? SecretName { get; set; }

    /// <summary>A PEM bundle of the CAs to trust; stored in a new ConfigMap owned by the DataVolume.</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = RegistrySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = S3Set, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ImageIoSet, ValueFromPipelineByPropertyName = true)]
    public string? CertificateFile { get; set; }

    /// <summary>An existing ConfigMap with the CA certificates.</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = RegistrySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = S3Set, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ImageIoSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = VddkSet, ValueFromPipelineByPropertyName = true)]
    public string? CertConfigMap { get; set; }

    /// <summary>Extra HTTP header lines, "Name: value".</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    public string[] ExtraHeader { get; set; } = [];

    /// <summary>Secrets that each hold a header line, for headers that carry credentials.</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    public string[] SecretExtraHeader { get; set; } = [];

    /// <summary>The image's checksum, "sha256:hex" (md5, sha1, sha256, sha512), checked by CDI's importer.</summary>
    [Parameter(ParameterSetName = HttpSet, ValueFromPipelineByPropertyName = true)]
    public string? Checksum { get; set; }

    /// <summary>Does not verify the server's certificate.</summary>
    [Parameter(ParameterSetName = HttpSet)]
    [Parameter(ParameterSetName = ImageIoSet)]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>Who pulls a registry image: pod (the importer; the default) or node (the kubelet, without scratch space).</summary>
    [Parameter(ParameterSetName = RegistrySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ImageStreamSet, ValueFromPipelineByPropertyName = true)]
    [ValidateSet("pod", "node")]
    public string? PullMethod { get; set; }

    /// <summary>The size: bytes (10GB), or a quantity ("10Gi"). Clones may leave it to CDI.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public object? Size { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? StorageClass { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")]
    public string[] AccessMode { get; set; } = [];

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("Filesystem", "Block")]
    public string? VolumeMode { get; set; }

    /// <summary>kubevirt (a disk image; the default) or archive (a tar unpacked onto the volume).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("kubevirt", "archive")]
    public string ContentType { get; set; } = "kubevirt";

    /// <summary>Binds the PVC at once, even when its class waits for the first consumer.</summary>
    [Parameter]
    public SwitchParameter BindImmediately { get; set; }

    /// <summary>Writes the pvc form of the spec (the claim as given) instead of the storage form.</summary>
    [Parameter]
    public SwitchParameter UsePvcApi { get; set; }

    /// <summary>
    /// The request these parameters describe, for a DataVolume named <paramref name="name"/> (empty:
    /// unnamed); null after writing why they describe none (a size that is no size, a file that
    /// cannot be read).
    /// </summary>
    protected DataVolumeRequest? TryBuildRequest(string name, Hashtable? label, Hashtable? annotation, bool preallocation)
    {
        try
        {
            return BuildRequest(name, label, annotation, preallocation);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            WriteError(e is FormatException
                ? new ErrorRecord(e, "InvalidSize", ErrorCategory.InvalidArgument, Size)
                : ErrorRecords.From(e, CertificateFile ?? ServiceAccountKeyFile));
            return null;
        }
    }

    /// <summary>Writes each reason CDI would refuse the request for as its own error, naming the parameter to check.</summary>
    protected void WriteRequestProblems(DataVolumeRequestException refused, object target)
    {
        foreach (var problem in refused.Problems)
        {
            WriteError(new ErrorRecord(new ArgumentException(problem.Message, refused), problem.Id, ErrorCategory.InvalidArgument, target)
            {
                ErrorDetails = new ErrorDetails(problem.Message) { RecommendedAction = $"Check -{problem.Parameter}." },
            });
        }
    }

    private DataVolumeRequest BuildRequest(string name, Hashtable? label, Hashtable? annotation, bool preallocation) => new()
    {
        Name = name,
        Namespace = Empty(Namespace),
        Source = ParameterSetName switch
        {
            HttpSet => DataVolumeSourceKind.Http,
            RegistrySet or ImageStreamSet => DataVolumeSourceKind.Registry,
            UploadSet => DataVolumeSourceKind.Upload,
            BlankSet => DataVolumeSourceKind.Blank,
            PvcSet => DataVolumeSourceKind.Pvc,
            SnapshotSet => DataVolumeSourceKind.Snapshot,
            DataSourceSet => DataVolumeSourceKind.DataSource,
            S3Set => DataVolumeSourceKind.S3,
            GcsSet => DataVolumeSourceKind.Gcs,
            ImageIoSet => DataVolumeSourceKind.ImageIo,
            _ => DataVolumeSourceKind.Vddk,
        },
        Url = Empty(Url ?? RegistryUrl ?? S3Url ?? GcsUrl ?? ImageIoUrl ?? VddkUrl),
        ImageStream = Empty(ImageStream),
        PullMethod = Empty(PullMethod),
        Credential = Credential is null ? null : new SourceCredential(Credential.UserName, Credential.GetNetworkCredential().Password),
        ServiceAccountKey = Empty(ServiceAccountKeyFile) is { } keyFile ? File.ReadAllText(GetUnresolvedProviderPathFromPSPath(keyFile)) : null,
        SecretName = Empty(SecretName),
        CertificatePem = Empty(CertificateFile) is { } caFile ? File.ReadAllText(GetUnresolvedProviderPathFromPSPath(caFile)) : null,
        CertConfigMap = Empty(CertConfigMap),
        ExtraHeaders = ExtraHeader.Where(h => !string.IsNullOrEmpty(h)).ToList(),
        SecretExtraHeaders = SecretExtraHeader.Where(h => !string.IsNullOrEmpty(h)).ToList(),
        Checksum = Empty(Checksum),
        SkipCertificateCheck = SkipCertificateCheck,
        SourceName = Empty(SourcePvc ?? SourceSnapshot ?? SourceDataSource),
        SourceNamespace = Empty(SourceNamespace),
        DiskId = Empty(DiskId),
        Uuid = Empty(Uuid),
        BackingFile = Empty(BackingFile),
        Thumbprint = Empty(Thumbprint),
        InitImageUrl = Empty(InitImageUrl),
        ExtraArgs = Empty(ExtraArgs),
        Size = SizeArgument.Bytes(Size),
        StorageClass = Empty(StorageClass),
        AccessModes = AccessMode,
        VolumeMode = Empty(VolumeMode),
        ContentType = ContentType,
        Preallocation = preallocation ? true : null,
        BindImmediately = BindImmediately,
        Labels = Strings(label),
        Annotations = Strings(annotation),
        UsePvcApi = UsePvcApi,
    };

    // Import-Csv gives "" for an empty cell: that means "not given".
    protected static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static Dictionary<string, string> Strings(Hashtable? table) =>
        table?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? string.Empty) ?? new Dictionary<string, string>();
}
