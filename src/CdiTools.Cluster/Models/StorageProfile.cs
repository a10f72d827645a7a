using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>A StorageProfile (storageprofiles.cdi.kubevirt.io, cluster-scoped, named like its StorageClass): the access and volume modes CDI will use for the class.</summary>
public sealed class StorageProfile : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "StorageProfile";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public StorageProfileSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public StorageProfileStatus? Status { get; set; }

    /// <summary>The claim property sets in force: the spec's when an admin set them, else those CDI found.</summary>
    public IList<ClaimPropertySet> ClaimPropertySets =>
        Spec?.ClaimPropertySets is { Count: > 0 } fromSpec ? fromSpec : Status?.ClaimPropertySets ?? [];
}

/// <summary>What an admin set on a StorageProfile.</summary>
public sealed class StorageProfileSpec
{
    [JsonPropertyName("claimPropertySets")]
    public IList<ClaimPropertySet>? ClaimPropertySets { get; set; }
}

/// <summary>What CDI found for a StorageProfile's class.</summary>
public sealed class StorageProfileStatus
{
    [JsonPropertyName("storageClass")]
    public string? StorageClass { get; set; }

    [JsonPropertyName("provisioner")]
    public string? Provisioner { get; set; }

    [JsonPropertyName("claimPropertySets")]
    public IList<ClaimPropertySet>? ClaimPropertySets { get; set; }
}

/// <summary>One combination of access modes and a volume mode a class supports.</summary>
public sealed class ClaimPropertySet
{
    [JsonPropertyName("accessModes")]
    public IList<string>? AccessModes { get; set; }

    [JsonPropertyName("volumeMode")]
    public string? VolumeMode { get; set; }
}
