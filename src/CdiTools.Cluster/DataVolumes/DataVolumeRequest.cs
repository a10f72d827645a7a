namespace CdiTools.Cluster.DataVolumes;

/// <summary>Where a DataVolume's data comes from: one member per kind of CDI source.</summary>
public enum DataVolumeSourceKind
{
    Http,
    Registry,
    Upload,
    Blank,
    Pvc,
    Snapshot,
    DataSource,
    S3,
    Gcs,
    ImageIo,
    Vddk,
}

/// <summary>A user name and password (or access key and secret key); the password never appears in text.</summary>
public sealed record SourceCredential(string UserName, string Password)
{
    /// <inheritdoc />
    public override string ToString() => $"{UserName} (password hidden)";
}

/// <summary>
/// Everything New-CdiDataVolume can ask for, in cluster terms and before any check. Only the fields
/// of <see cref="Source"/>'s kind may be set; <see cref="DataVolumeRules"/> says what is wrong, and
/// <see cref="DataVolumeManifestBuilder"/> turns a valid request into the objects to create.
/// </summary>
public sealed record DataVolumeRequest
{
    public required string Name { get; init; }

    /// <summary>Null for the connection's default namespace.</summary>
    public string? Namespace { get; init; }

    public required DataVolumeSourceKind Source { get; init; }

    /// <summary>The source URL: http(s) for Http, S3, ImageIo and Vddk; gs:// or http(s) for Gcs; docker:// or oci-archive:// for Registry.</summary>
    public string? Url { get; init; }

    /// <summary>Registry: an OpenShift ImageStream instead of a URL (node pull only).</summary>
    public string? ImageStream { get; init; }

    /// <summary>Registry: "pod" or "node".</summary>
    public string? PullMethod { get; init; }

    /// <summary>Credentials to put in a new Secret with CDI's keys (accessKeyId, secretKey).</summary>
    public SourceCredential? Credential { get; init; }

    /// <summary>Gcs: a service account key (JSON) to put in a new Secret as credentials.json.</summary>
    public string? ServiceAccountKey { get; init; }

    /// <summary>An existing Secret holding the credentials.</summary>
    public string? SecretName { get; init; }

    /// <summary>PEM certificates of the CAs to trust, to put in a new ConfigMap.</summary>
    public string? CertificatePem { get; init; }

    /// <summary>An existing ConfigMap holding the CA certificates.</summary>
    public string? CertConfigMap { get; init; }

    /// <summary>Http: "Name: value" header lines.</summary>
    public IReadOnlyList<string> ExtraHeaders { get; init; } = [];

    /// <summary>Http: Secrets that each hold one header line.</summary>
    public IReadOnlyList<string> SecretExtraHeaders { get; init; } = [];

    /// <summary>Http: "algorithm:hex" the importer checks.</summary>
    public string? Checksum { get; init; }

    /// <summary>Http and ImageIo: do not verify the server's certificate.</summary>
    public bool SkipCertificateCheck { get; init; }

    /// <summary>Pvc, Snapshot and DataSource: the object to clone.</summary>
    public string? SourceName { get; init; }

    /// <summary>Pvc, Snapshot and DataSource: its namespace; the DataVolume's when null.</summary>
    public string? SourceNamespace { get; init; }

    /// <summary>ImageIo: the disk's id on the engine.</summary>
    public string? DiskId { get; init; }

    /// <summary>Vddk: the VM's UUID.</summary>
    public string? Uuid { get; init; }

    /// <summary>Vddk: the disk's path on the datastore ("[datastore1] vm/vm.vmdk").</summary>
    public string? BackingFile { get; init; }

    /// <summary>Vddk: the SHA-1 thumbprint of the vCenter or ESXi certificate.</summary>
    public string? Thumbprint { get; init; }

    /// <summary>Vddk: an image holding the VDDK library.</summary>
    public string? InitImageUrl { get; init; }

    /// <summary>Vddk: a ConfigMap with extra VDDK arguments.</summary>
    public string? ExtraArgs { get; init; }

    /// <summary>The size in bytes; null only where CDI can take it from a clone source.</summary>
    public long? Size { get; init; }

    public string? StorageClass { get; init; }

    public IReadOnlyList<string> AccessModes { get; init; } = [];

    /// <summary>"Filesystem" or "Block"; null to let CDI choose (storage API) or for Filesystem (pvc API).</summary>
    public string? VolumeMode { get; init; }

    /// <summary>"kubevirt" (a disk image) or "archive" (a tar unpacked onto the volume).</summary>
    public string ContentType { get; init; } = "kubevirt";

    public bool? Preallocation { get; init; }

    /// <summary>Bind the PVC at once even when the class waits for the first consumer.</summary>
    public bool BindImmediately { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    /// <summary>The pvc form (the claim as given) instead of the storage form (CDI completes it from the StorageProfile).</summary>
    public bool UsePvcApi { get; init; }
}
