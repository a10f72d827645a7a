using k8s;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>A <see cref="DataVolumeManifest"/> as YAML documents for kubectl apply, the Secret's values hidden unless asked for.</summary>
public static class DataVolumeManifestYaml
{
    /// <summary>What stands in a Secret's values when they are not shown.</summary>
    public const string Redacted = "<redacted>";

    public static string Render(DataVolumeManifest manifest, bool includeSecretValues)
    {
        var documents = manifest.Objects().Select(o => o is V1Secret secret && !includeSecretValues ? WithoutValues(secret) : o);
        return string.Join("---\n", documents.Select(o => KubernetesYaml.Serialize(o).TrimEnd('\n') + "\n"));
    }

    private static V1Secret WithoutValues(V1Secret secret) => new()
    {
        ApiVersion = secret.ApiVersion,
        Kind = secret.Kind,
        Metadata = secret.Metadata,
        Type = secret.Type,
        StringData = secret.StringData?.ToDictionary(pair => pair.Key, _ => Redacted),
    };
}
