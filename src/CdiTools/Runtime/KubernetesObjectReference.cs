using System.Collections;
using System.Management.Automation;

namespace CdiTools.Runtime;

/// <summary>
/// The name and namespace of whatever names a Kubernetes object on the pipeline: a string, an
/// object with Name/Namespace properties (CdiTools output, KubernetesClient models) or one with
/// metadata.name/metadata.namespace (<c>kubectl get -o json | ConvertFrom-Json</c>).
/// </summary>
internal sealed record KubernetesObjectReference(string Name, string? Namespace)
{
    /// <summary>The reference <paramref name="input"/> gives; null when it names nothing.</summary>
    public static KubernetesObjectReference? From(object? input)
    {
        var value = input is PSObject wrapped ? wrapped.BaseObject : input;
        switch (value)
        {
            case null:
                return null;
            case string name:
                return new KubernetesObjectReference(name, null);
        }

        // A PSCustomObject's properties live on its PSObject wrapper, so that wrapper is kept.
        var item = input as PSObject ?? PSObject.AsPSObject(value);
        var metadata = Member(item, "metadata");
        if (metadata is not null)
        {
            var meta = PSObject.AsPSObject(metadata);
            if (Text(Member(meta, "name")) is { } fromMetadata)
            {
                return new KubernetesObjectReference(fromMetadata, Text(Member(meta, "namespace")));
            }
        }

        return Text(Member(item, "name")) is { } plain
            ? new KubernetesObjectReference(plain, Text(Member(item, "namespace")))
            : null;
    }

    // Property names compare without case in PowerShell; dictionaries (hashtables, YAML maps) are looked into too.
    private static object? Member(PSObject item, string name) =>
        item.BaseObject is IDictionary dictionary
            ? dictionary.Keys.Cast<object>().FirstOrDefault(k => string.Equals(k as string, name, StringComparison.OrdinalIgnoreCase)) is { } key ? dictionary[key] : null
            : item.Properties[name]?.Value;

    private static string? Text(object? value) => (value is PSObject wrapped ? wrapped.BaseObject : value) as string;
}
