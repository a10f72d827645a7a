using System.Globalization;
using System.Text.Json.Serialization;
using CdiTools.Cluster.Sizing;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>CDIConfig (cdiconfigs.cdi.kubevirt.io, cluster-scoped, named "config"): the settings CDI's controllers read and what they computed.</summary>
public sealed class CdiConfig : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "CDIConfig";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public CdiConfigSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public CdiConfigStatus? Status { get; set; }

    /// <summary>CDI's filesystem overhead for a class: the class's own from the status, else the global one, else CDI's default 6%.</summary>
    public double FilesystemOverheadFor(string? storageClass)
    {
        var overhead = Status?.FilesystemOverhead;
        var text = storageClass is not null && overhead?.StorageClass?.TryGetValue(storageClass, out var own) == true ? own : overhead?.Global;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : PvcSize.DefaultFilesystemOverhead;
    }
}

/// <summary>CDIConfig's spec (also the CDI CR's spec.config), as far as CdiTools reads it.</summary>
public sealed class CdiConfigSpec
{
    [JsonPropertyName("scratchSpaceStorageClass")]
    public string? ScratchSpaceStorageClass { get; set; }

    [JsonPropertyName("uploadProxyURLOverride")]
    public string? UploadProxyUrlOverride { get; set; }
}

/// <summary>CDIConfig's status: what CDI computed from the spec and the cluster.</summary>
public sealed class CdiConfigStatus
{
    /// <summary>The class scratch PVCs get: the configured one if it exists (and, before v1.65.0, else the default class), or "".</summary>
    [JsonPropertyName("scratchSpaceStorageClass")]
    public string? ScratchSpaceStorageClass { get; set; }

    [JsonPropertyName("uploadProxyURL")]
    public string? UploadProxyUrl { get; set; }

    [JsonPropertyName("filesystemOverhead")]
    public FilesystemOverhead? FilesystemOverhead { get; set; }
}

/// <summary>The share of a Filesystem volume its filesystem takes, globally and per storage class, as decimal strings ("0.06").</summary>
public sealed class FilesystemOverhead
{
    [JsonPropertyName("global")]
    public string? Global { get; set; }

    [JsonPropertyName("storageClass")]
    public IDictionary<string, string>? StorageClass { get; set; }
}
