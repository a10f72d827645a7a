using k8s;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>A <see cref="DataVolumeManifest"/> as YAML documents for kubectl apply, the Secret's values hidden unless asked for.</summary>
public static class DataVolumeManifestYaml
{
    /// <summary>What stands in a Secret's values when they are not shown.</summary>
    public const string Redacted = "<redacted>";

    /// <remarks>
    /// Every document starts with its own <c>---</c> line, so manifests written one after another
    /// (a pipeline into kubectl apply, or into one file) stay separate documents instead of one
    /// whose repeated keys keep only the last object.
    /// </remarks>
    public static string Render(DataVolumeManifest manifest, bool includeSecretValues)
    {
        var documents = manifest.Objects().Select(o => o is V1Secret secret && !includeSecretValues ? WithoutValues(secret) : o);
        return string.Concat(documents.Select(o => "---\n" + KubernetesYaml.Serialize(o).TrimEnd('\n') + "\n"));
    }

    /// <summary>
    /// What to tell the user when the manifest's Secret carries <see cref="Redacted"/> in place of
    /// its values: applied as it is, it would create a Secret that cannot work. Null without a Secret.
    /// </summary>
    public static string? RedactedSecretHint(DataVolumeManifest manifest)
    {
        if (manifest.Secret is not { } secret)
        {
            return null;
        }

        var keys = string.Join(" ", (secret.StringData?.Keys ?? []).Select(key => $"--from-literal={key}=..."));
        var ns = secret.Metadata.NamespaceProperty is { } named ? $" -n {named}" : string.Empty;
        return $"The Secret {secret.Metadata.Name} in this manifest holds {Redacted} in place of its values, so kubectl apply would create a Secret that cannot work. " +
            $"Write the values with -IncludeSecretValues, or create the Secret first (kubectl create secret generic {secret.Metadata.Name}{ns} {keys}) and apply the manifest without it.";
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
