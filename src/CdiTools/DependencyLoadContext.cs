using System.Reflection;
using System.Runtime.Loader;

namespace CdiTools;

/// <summary>
/// The module's own assembly load context. The engine, the cluster layer and every third-party
/// assembly they use load here from the module's <c>deps/</c> folder, so a session that already
/// holds another version of one of them (YamlDotNet, KubernetesClient, ...) does not break us,
/// and we do not break it.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    private static readonly string FrameworkDirectory =
        Path.GetDirectoryName(typeof(object).Assembly.Location) ?? string.Empty;

    private DependencyLoadContext(string dependencyDirectory)
        : base("CdiTools", isCollectible: false)
    {
        DependencyDirectory = dependencyDirectory;
    }

    /// <summary>The one context for the process; binary modules cannot be unloaded, so neither can it.</summary>
    public static DependencyLoadContext Instance { get; } = new(
        Path.Combine(Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location) ?? ".", "deps"));

    public string DependencyDirectory { get; }

    /// <summary>Whether <paramref name="name"/> is one of the module's own assemblies kept in <c>deps/</c>.</summary>
    public bool IsModuleAssembly(AssemblyName name) =>
        name.Name is { } simple
        && simple.StartsWith("CdiTools.", StringComparison.Ordinal)
        && File.Exists(Path.Combine(DependencyDirectory, simple + ".dll"));

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var simple = assemblyName.Name;
        if (simple is null)
        {
            return null;
        }

        // Framework assemblies must be the ones the session runs on: types such as Stream or Task
        // cross the boundary between us and PowerShell, and two copies would not be the same type.
        if (File.Exists(Path.Combine(FrameworkDirectory, simple + ".dll")))
        {
            return null;
        }

        var path = Path.Combine(DependencyDirectory, simple + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
