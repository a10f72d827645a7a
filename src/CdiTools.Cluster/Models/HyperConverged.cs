using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>
/// The HyperConverged Cluster Operator's CR (hyperconvergeds.hco.kubevirt.io/v1beta1): where it
/// manages CDI, it owns the scratch class and writes it over the CDI CR.
/// </summary>
public sealed class HyperConverged : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.HcoGroup}/{CdiResources.HcoVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "HyperConverged";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public HyperConvergedSpec? Spec { get; set; }
}

/// <summary>The HyperConverged spec, as far as CdiTools reads it.</summary>
public sealed class HyperConvergedSpec
{
    [JsonPropertyName("scratchSpaceStorageClass")]
    public string? ScratchSpaceStorageClass { get; set; }
}
