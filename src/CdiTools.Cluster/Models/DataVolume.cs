using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>A DataVolume (datavolumes.cdi.kubevirt.io/v1beta1, namespaced), modelled on CDI's CRD schema.</summary>
public sealed class DataVolume : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "DataVolume";

    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public DataVolumeSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public DataVolumeStatus? Status { get; set; }

    /// <summary>The storage class the DataVolume asks for, in the storage API or the pvc API; null for the cluster default.</summary>
    /// <remarks>Methods, not properties, so that YAML serialization (which ignores JsonIgnore) leaves them out.</remarks>
    public string? RequestedStorageClass() => Spec?.Storage?.StorageClassName ?? Spec?.Pvc?.StorageClassName;

    /// <summary>The storage section in use: storage, else pvc.</summary>
    public DataVolumeStorage? RequestedStorage() => Spec?.Storage ?? Spec?.Pvc;
}

/// <summary>What a DataVolume asks for: one source (or a sourceRef), and its storage in the storage or the pvc form.</summary>
public sealed class DataVolumeSpec
{
    [JsonPropertyName("source")]
    public DataVolumeSource? Source { get; set; }

    [JsonPropertyName("sourceRef")]
    public DataVolumeSourceRef? SourceRef { get; set; }

    /// <summary>The storage API: CDI fills in what is missing from the StorageProfile.</summary>
    [JsonPropertyName("storage")]
    public DataVolumeStorage? Storage { get; set; }

    /// <summary>The pvc API: the claim spec as given.</summary>
    [JsonPropertyName("pvc")]
    public DataVolumeStorage? Pvc { get; set; }

    /// <summary>"kubevirt" (a disk image, the default) or "archive" (a tar unpacked onto a filesystem).</summary>
    [JsonPropertyName("contentType")]
    public string? ContentType { get; set; }

    [JsonPropertyName("preallocation")]
    public bool? Preallocation { get; set; }

    [JsonPropertyName("priorityClassName")]
    public string? PriorityClassName { get; set; }
}

/// <summary>The one source of a DataVolume; exactly one member is set.</summary>
public sealed class DataVolumeSource
{
    [JsonPropertyName("http")]
    public HttpDataSource? Http { get; set; }

    [JsonPropertyName("s3")]
    public S3DataSource? S3 { get; set; }

    [JsonPropertyName("gcs")]
    public GcsDataSource? Gcs { get; set; }

    [JsonPropertyName("registry")]
    public RegistryDataSource? Registry { get; set; }

    [JsonPropertyName("pvc")]
    public ObjectInNamespace? Pvc { get; set; }

    [JsonPropertyName("snapshot")]
    public ObjectInNamespace? Snapshot { get; set; }

    [JsonPropertyName("upload")]
    public EmptySource? Upload { get; set; }

    [JsonPropertyName("blank")]
    public EmptySource? Blank { get; set; }

    [JsonPropertyName("imageio")]
    public ImageIoDataSource? ImageIo { get; set; }

    [JsonPropertyName("vddk")]
    public VddkDataSource? Vddk { get; set; }
}

/// <summary>The empty object of an upload or blank source.</summary>
public sealed class EmptySource;

/// <summary>An http(s) source: basic auth through a Secret (accessKeyId, secretKey), extra CAs through a ConfigMap.</summary>
public sealed class HttpDataSource
{
    [JsonPropertyName("url")]
    public string Url { get; set; } = "";

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }

    [JsonPropertyName("certConfigMap")]
    public string? CertConfigMap { get; set; }

    /// <summary>"Name: value" lines sent with every request.</summary>
    [JsonPropertyName("extraHeaders")]
    public IList<string>? ExtraHeaders { get; set; }

    /// <summary>Secrets, each holding one header line, for headers that carry credentials.</summary>
    [JsonPropertyName("secretExtraHeaders")]
    public IList<string>? SecretExtraHeaders { get; set; }

    /// <summary>"algorithm:hex" (md5, sha1, sha256, sha512), checked by the importer (newer CDI).</summary>
    [JsonPropertyName("checksum")]
    public string? Checksum { get; set; }

    [JsonPropertyName("insecureSkipVerify")]
    public bool? InsecureSkipVerify { get; set; }
}

/// <summary>An S3 object: credentials through a Secret (accessKeyId, secretKey).</summary>
public sealed class S3DataSource
{
    [JsonPropertyName("url")]
    public string Url { get; set; } = "";

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }

    [JsonPropertyName("certConfigMap")]
    public string? CertConfigMap { get; set; }
}

/// <summary>A Google Cloud Storage object (gs:// or an http(s) endpoint): a service account key through a Secret (credentials.json).</summary>
public sealed class GcsDataSource
{
    [JsonPropertyName("url")]
    public string Url { get; set; } = "";

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }
}

/// <summary>A container image holding a disk (docker:// or oci-archive://), or an OpenShift ImageStream with node pull.</summary>
public sealed class RegistryDataSource
{
    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("imageStream")]
    public string? ImageStream { get; set; }

    /// <summary>"pod" (the importer pulls; the default) or "node" (the kubelet pulls, through the node's cache).</summary>
    [JsonPropertyName("pullMethod")]
    public string? PullMethod { get; set; }

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }

    /// <summary>A ConfigMap whose keys end in .crt (or .pem, on newer CDI).</summary>
    [JsonPropertyName("certConfigMap")]
    public string? CertConfigMap { get; set; }
}

/// <summary>A disk on an oVirt engine (ImageIO).</summary>
public sealed class ImageIoDataSource
{
    [JsonPropertyName("url")]
    public string Url { get; set; } = "";

    [JsonPropertyName("diskId")]
    public string DiskId { get; set; } = "";

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }

    [JsonPropertyName("certConfigMap")]
    public string? CertConfigMap { get; set; }

    [JsonPropertyName("insecureSkipVerify")]
    public bool? InsecureSkipVerify { get; set; }
}

/// <summary>A VMware disk read through VDDK from vCenter or ESXi.</summary>
public sealed class VddkDataSource
{
    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("uuid")]
    public string? Uuid { get; set; }

    [JsonPropertyName("backingFile")]
    public string? BackingFile { get; set; }

    [JsonPropertyName("thumbprint")]
    public string? Thumbprint { get; set; }

    [JsonPropertyName("secretRef")]
    public string? SecretRef { get; set; }

    [JsonPropertyName("certConfigMap")]
    public string? CertConfigMap { get; set; }

    [JsonPropertyName("initImageURL")]
    public string? InitImageUrl { get; set; }

    [JsonPropertyName("extraArgs")]
    public string? ExtraArgs { get; set; }
}

/// <summary>A PVC or VolumeSnapshot to clone from.</summary>
public sealed class ObjectInNamespace
{
    [JsonPropertyName("namespace")]
    public string Namespace { get; set; } = "";

    [JsonPropertyName("name")]
    public string Name { get; set; } = "";
}

/// <summary>A DataSource to clone from, in place of a source.</summary>
public sealed class DataVolumeSourceRef
{
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "DataSource";

    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }

    [JsonPropertyName("name")]
    public string Name { get; set; } = "";
}

/// <summary>The storage a DataVolume asks for (its storage or pvc section).</summary>
public sealed class DataVolumeStorage
{
    [JsonPropertyName("accessModes")]
    public IList<string>? AccessModes { get; set; }

    [JsonPropertyName("resources")]
    public V1VolumeResourceRequirements? Resources { get; set; }

    [JsonPropertyName("storageClassName")]
    public string? StorageClassName { get; set; }

    [JsonPropertyName("volumeMode")]
    public string? VolumeMode { get; set; }

    [JsonPropertyName("volumeName")]
    public string? VolumeName { get; set; }

    /// <summary>The requested size as given ("10Gi"); null when none was given (clones may leave it to CDI).</summary>
    public ResourceQuantity? RequestedSize() =>
        Resources?.Requests is { } requests && requests.TryGetValue("storage", out var size) ? size : null;
}

/// <summary>What CDI reports about a DataVolume.</summary>
public sealed class DataVolumeStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    /// <summary>"45.20%", or "N/A" where CDI cannot tell (uploads).</summary>
    [JsonPropertyName("progress")]
    public string? Progress { get; set; }

    /// <summary>How often the importer, uploader or cloner pod restarted: CDI retries failures instead of failing.</summary>
    [JsonPropertyName("restartCount")]
    public int? RestartCount { get; set; }

    [JsonPropertyName("claimName")]
    public string? ClaimName { get; set; }

    [JsonPropertyName("conditions")]
    public IList<DataVolumeCondition>? Conditions { get; set; }
}

/// <summary>One of a DataVolume's conditions (Bound, Ready, Running).</summary>
public sealed class DataVolumeCondition
{
    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    [JsonPropertyName("status")]
    public string Status { get; set; } = "";

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("lastTransitionTime")]
    public DateTime? LastTransitionTime { get; set; }

    [JsonPropertyName("lastHeartbeatTime")]
    public DateTime? LastHeartbeatTime { get; set; }
}
