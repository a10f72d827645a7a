using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>A DataVolume (datavolumes.cdi.kubevirt.io/v1beta1, namespaced), as far as CdiTools reads it so far.</summary>
public sealed class DataVolume : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "DataVolume";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public DataVolumeSpec? Spec { get; set; }

    /// <summary>The storage class the DataVolume asks for, in the storage API or the pvc API; null for the cluster default.</summary>
    public string? RequestedStorageClass => Spec?.Storage?.StorageClassName ?? Spec?.Pvc?.StorageClassName;
}

/// <summary>The DataVolume spec, as far as CdiTools reads it so far.</summary>
public sealed class DataVolumeSpec
{
    [JsonPropertyName("storage")]
    public DataVolumeStorage? Storage { get; set; }

    [JsonPropertyName("pvc")]
    public DataVolumeStorage? Pvc { get; set; }
}

/// <summary>The storage a DataVolume asks for (its storage or pvc section).</summary>
public sealed class DataVolumeStorage
{
    [JsonPropertyName("storageClassName")]
    public string? StorageClassName { get; set; }

    [JsonPropertyName("volumeMode")]
    public string? VolumeMode { get; set; }
}
