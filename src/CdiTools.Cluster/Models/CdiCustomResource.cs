using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>
/// The CDI custom resource (cdis.cdi.kubevirt.io, cluster-scoped, usually named "cdi"): the fields
/// CdiTools reads. Writes go through merge patches, so fields not modelled here are never lost.
/// </summary>
public sealed class CdiCustomResource : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "CDI";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public CdiSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public CdiStatus? Status { get; set; }

    /// <summary>True when the CR carries the config-authority annotation: it then owns CDIConfig's spec.</summary>
    public bool HasConfigAuthority => Metadata.Annotations?.ContainsKey(CdiResources.ConfigAuthorityAnnotation) == true;
}

/// <summary>The CDI CR's spec, as far as CdiTools reads it.</summary>
public sealed class CdiSpec
{
    [JsonPropertyName("config")]
    public CdiConfigSpec? Config { get; set; }
}

/// <summary>The CDI CR's status, as far as CdiTools reads it.</summary>
public sealed class CdiStatus
{
    /// <summary>The CDI release the operator runs, such as v1.66.0.</summary>
    [JsonPropertyName("observedVersion")]
    public string? ObservedVersion { get; set; }

    [JsonPropertyName("phase")]
    public string? Phase { get; set; }
}
