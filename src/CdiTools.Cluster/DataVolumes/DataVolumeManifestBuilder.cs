using CdiTools.Cluster.Models;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>The objects one New-CdiDataVolume call creates: the DataVolume, and the Secret and ConfigMap it needs, if any.</summary>
public sealed record DataVolumeManifest(DataVolume DataVolume, V1Secret? Secret, V1ConfigMap? ConfigMap)
{
    public string Name => DataVolume.Metadata.Name;

    public string Namespace => DataVolume.Metadata.NamespaceProperty;

    /// <summary>The source in one line, as <see cref="DataVolumeView.Source"/> gives it.</summary>
    public string SourceText => DataVolumeView.Describe(DataVolume.Spec);

    /// <summary>"Secret vms/disk-source-credentials", ...: the objects in creation order, for messages.</summary>
    public IReadOnlyList<string> Describe() =>
        Objects().Select(o => $"{o.Kind} {(o.Metadata.NamespaceProperty is { } ns ? ns + "/" : string.Empty)}{o.Metadata.Name}").ToList();

    /// <summary>The objects in the order they are created: what the DataVolume refers to first.</summary>
    public IEnumerable<k8s.IKubernetesObject<V1ObjectMeta>> Objects()
    {
        if (Secret is not null)
        {
            yield return Secret;
        }

        if (ConfigMap is not null)
        {
            yield return ConfigMap;
        }

        yield return DataVolume;
    }
}

/// <summary>
/// Turns a checked <see cref="DataVolumeRequest"/> into CDI's objects: the DataVolume in the storage
/// (or pvc) form, a Secret with the keys CDI's importer reads, and a ConfigMap for a CA bundle.
/// </summary>
public static class DataVolumeManifestBuilder
{
    /// <summary>The annotation that makes CDI bind the PVC at once, even for WaitForFirstConsumer classes.</summary>
    public const string BindImmediatelyAnnotation = "cdi.kubevirt.io/storage.bind.immediate.requested";

    /// <summary>The label that marks the Secrets and ConfigMaps CdiTools made.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    /// <summary>Keys CDI's importer reads from a credentials Secret.</summary>
    public const string AccessKeyId = "accessKeyId";
    public const string SecretKey = "secretKey";
    public const string GcsKeyFile = "credentials.json";

    /// <summary>
    /// The objects for <paramref name="request"/> in <paramref name="namespace"/>; with a null
    /// namespace the objects name none, so kubectl applies them to its current one.
    /// </summary>
    /// <exception cref="DataVolumeRequestException">The request does not pass <see cref="DataVolumeRules"/>; it lists every problem.</exception>
    public static DataVolumeManifest Build(DataVolumeRequest request, string? @namespace)
    {
        var problems = DataVolumeRules.Check(request).ToList();
        if (@namespace is null && request.SourceNamespace is null && request.Source is DataVolumeSourceKind.Pvc or DataVolumeSourceKind.Snapshot)
        {
            problems.Add(new DataVolumeProblem("SourceNamespaceRequired", "SourceNamespace", "CDI needs the clone source's namespace: give -Namespace or -SourceNamespace."));
        }

        if (problems.Count > 0)
        {
            throw new DataVolumeRequestException(problems);
        }

        var secret = CreatesSecret(request) ? Secret(request, @namespace) : null;
        var configMap = request.CertificatePem is not null ? ConfigMap(request, @namespace) : null;
        var secretName = secret?.Metadata.Name ?? request.SecretName;
        var certConfigMap = configMap?.Metadata.Name ?? request.CertConfigMap;

        var annotations = new Dictionary<string, string>(request.Annotations);
        if (request.BindImmediately)
        {
            annotations[BindImmediatelyAnnotation] = "true";
        }

        var dataVolume = new DataVolume
        {
            Metadata = new V1ObjectMeta
            {
                Name = request.Name,
                NamespaceProperty = @namespace,
                Labels = request.Labels.Count > 0 ? new Dictionary<string, string>(request.Labels) : null,
                Annotations = annotations.Count > 0 ? annotations : null,
            },
            Spec = new DataVolumeSpec
            {
                ContentType = request.ContentType == "kubevirt" ? null : request.ContentType,
                Preallocation = request.Preallocation,
            },
        };
        var storage = Storage(request);
        if (request.UsePvcApi)
        {
            dataVolume.Spec.Pvc = storage;
        }
        else
        {
            dataVolume.Spec.Storage = storage;
        }

        if (request.Source == DataVolumeSourceKind.DataSource)
        {
            dataVolume.Spec.SourceRef = new DataVolumeSourceRef { Name = request.SourceName!, Namespace = request.SourceNamespace };
        }
        else
        {
            dataVolume.Spec.Source = Source(request, @namespace, secretName, certConfigMap);
        }

        return new DataVolumeManifest(dataVolume, secret, configMap);
    }

    private static bool CreatesSecret(DataVolumeRequest r) => r.Credential is not null || r.ServiceAccountKey is not null;

    private static DataVolumeStorage Storage(DataVolumeRequest r)
    {
        var storage = new DataVolumeStorage
        {
            StorageClassName = r.StorageClass,
            VolumeMode = r.VolumeMode,
        };
        if (r.AccessModes.Count > 0)
        {
            storage.AccessModes = [.. r.AccessModes];
        }
        else if (r.UsePvcApi)
        {
            // The pvc form is taken as written and needs an access mode; the storage form asks the StorageProfile.
            storage.AccessModes = ["ReadWriteOnce"];
        }

        if (r.Size is { } size)
        {
            storage.Resources = new V1VolumeResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(Sizing.PvcSize.ExactQuantity(size)) },
            };
        }

        return storage;
    }

    private static DataVolumeSource Source(DataVolumeRequest r, string? @namespace, string? secretName, string? certConfigMap) => r.Source switch
    {
        DataVolumeSourceKind.Http => new DataVolumeSource
        {
            Http = new HttpDataSource
            {
                Url = r.Url!,
                SecretRef = secretName,
                CertConfigMap = certConfigMap,
                ExtraHeaders = r.ExtraHeaders.Count > 0 ? [.. r.ExtraHeaders] : null,
                SecretExtraHeaders = r.SecretExtraHeaders.Count > 0 ? [.. r.SecretExtraHeaders] : null,
                Checksum = r.Checksum,
                InsecureSkipVerify = r.SkipCertificateCheck ? true : null,
            },
        },
        DataVolumeSourceKind.Registry => new DataVolumeSource
        {
            Registry = new RegistryDataSource
            {
                Url = r.Url,
                ImageStream = r.ImageStream,
                PullMethod = r.PullMethod,
                SecretRef = secretName,
                CertConfigMap = certConfigMap,
            },
        },
        DataVolumeSourceKind.Upload => new DataVolumeSource { Upload = new EmptySource() },
        DataVolumeSourceKind.Blank => new DataVolumeSource { Blank = new EmptySource() },
        DataVolumeSourceKind.Pvc => new DataVolumeSource { Pvc = new ObjectInNamespace { Name = r.SourceName!, Namespace = (r.SourceNamespace ?? @namespace)! } },
        DataVolumeSourceKind.Snapshot => new DataVolumeSource { Snapshot = new ObjectInNamespace { Name = r.SourceName!, Namespace = (r.SourceNamespace ?? @namespace)! } },
        DataVolumeSourceKind.S3 => new DataVolumeSource { S3 = new S3DataSource { Url = r.Url!, SecretRef = secretName, CertConfigMap = certConfigMap } },
        DataVolumeSourceKind.Gcs => new DataVolumeSource { Gcs = new GcsDataSource { Url = r.Url!, SecretRef = secretName } },
        DataVolumeSourceKind.ImageIo => new DataVolumeSource
        {
            ImageIo = new ImageIoDataSource
            {
                Url = r.Url!,
                DiskId = r.DiskId!,
                SecretRef = secretName,
                CertConfigMap = certConfigMap,
                InsecureSkipVerify = r.SkipCertificateCheck ? true : null,
            },
        },
        DataVolumeSourceKind.Vddk => new DataVolumeSource
        {
            Vddk = new VddkDataSource
            {
                Url = r.Url,
                Uuid = r.Uuid,
                BackingFile = r.BackingFile,
                Thumbprint = r.Thumbprint,
                SecretRef = secretName,
                CertConfigMap = certConfigMap,
                InitImageUrl = r.InitImageUrl,
                ExtraArgs = r.ExtraArgs,
            },
        },
        _ => throw new ArgumentOutOfRangeException(nameof(r), r.Source, "No source object for this kind."),
    };

    private static V1Secret Secret(DataVolumeRequest r, string? @namespace)
    {
        var data = r.ServiceAccountKey is { } key
            ? new Dictionary<string, string> { [GcsKeyFile] = key }
            : new Dictionary<string, string> { [AccessKeyId] = r.Credential!.UserName, [SecretKey] = r.Credential.Password };
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = OwnedMetadata(r.Name + DataVolumeRules.SecretSuffix, @namespace),
            Type = "Opaque",
            StringData = data,
        };
    }

    private static V1ConfigMap ConfigMap(DataVolumeRequest r, string? @namespace) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = OwnedMetadata(r.Name + DataVolumeRules.ConfigMapSuffix, @namespace),

        // The registry importer takes only files ending in .crt (newer CDI also .pem); the others read any key.
        Data = new Dictionary<string, string> { [r.Source == DataVolumeSourceKind.Registry ? "ca.crt" : "ca.pem"] = r.CertificatePem! },
    };

    private static V1ObjectMeta OwnedMetadata(string name, string? @namespace) => new()
    {
        Name = name,
        NamespaceProperty = @namespace,
        Labels = new Dictionary<string, string> { [ManagedByLabel] = "CdiTools" },
    };
}

/// <summary>A <see cref="DataVolumeRequest"/> that CDI would refuse, with every reason.</summary>
public sealed class DataVolumeRequestException(IReadOnlyList<DataVolumeProblem> problems)
    : Exception(string.Join(" ", problems.Select(p => p.Message)))
{
    public IReadOnlyList<DataVolumeProblem> Problems { get; } = problems;

    /// <summary>The first problem's id: what PowerShell shows as the error id.</summary>
    public string ErrorId => Problems[0].Id;
}
