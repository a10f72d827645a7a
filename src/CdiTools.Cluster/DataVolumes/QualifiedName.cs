namespace CdiTools.Cluster.DataVolumes;

/// <summary>
/// A name as kubectl users write it: <c>name</c>, or <c>namespace/name</c> as kubectl prints it
/// (<c>kubectl get dv -A -o name</c> gives <c>datavolume.cdi.kubevirt.io/name</c>, whose kind
/// prefix is dropped too).
/// </summary>
public static class QualifiedName
{
    /// <summary>The namespace and name <paramref name="text"/> gives; the namespace is <paramref name="defaultNamespace"/> when it names none.</summary>
    /// <exception cref="ArgumentException">More than one '/' after the kind prefix, or an empty part.</exception>
    public static (string Namespace, string Name) Split(string text, string defaultNamespace)
    {
        var (ns, name) = Parse(text);
        return (ns ?? defaultNamespace, name);
    }

    /// <summary>The namespace and name <paramref name="text"/> gives; null for the namespace when it names none
    /// (a listing across namespaces then looks in all of them).</summary>
    /// <exception cref="ArgumentException">More than one '/' after the kind prefix, or an empty part.</exception>
    public static (string? Namespace, string Name) Parse(string text)
    {
        var rest = text;
        foreach (var prefix in (string[])["datavolume.cdi.kubevirt.io/", "datavolumes.cdi.kubevirt.io/", "datavolume/", "dv/"])
        {
            if (rest.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[prefix.Length..];
                break;
            }
        }

        var parts = rest.Split('/');
        return parts switch
        {
            [var name] when name.Length > 0 => (null, name),
            [var ns, var name] when ns.Length > 0 && name.Length > 0 => (ns, name),
            _ => throw new ArgumentException($"'{text}' is neither NAME nor NAMESPACE/NAME."),
        };
    }
}
