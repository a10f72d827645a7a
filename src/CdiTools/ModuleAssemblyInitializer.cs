using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace CdiTools;

/// <summary>
/// Runs when the module is imported: sends the default context's requests for the module's own
/// layers (CdiTools.Engine, CdiTools.Cluster) to <see cref="DependencyLoadContext"/>, where their
/// dependencies then resolve from <c>deps/</c> rather than from whatever the session has loaded.
/// </summary>
public sealed class ModuleAssemblyInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static int registered;

    /// <inheritdoc />
    public void OnImport()
    {
        // Every runspace that imports the module calls this; one handler serves the process.
        if (Interlocked.Exchange(ref registered, 1) == 0)
        {
            AssemblyLoadContext.Default.Resolving += ResolveModuleAssembly;
        }
    }

    /// <inheritdoc />
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        // The handler stays: other runspaces may still run the cmdlets, and a binary module's
        // assembly stays loaded after Remove-Module, so a later import reuses it.
    }

    private static Assembly? ResolveModuleAssembly(AssemblyLoadContext context, AssemblyName name) =>
        DependencyLoadContext.Instance.IsModuleAssembly(name)
            ? DependencyLoadContext.Instance.LoadFromAssemblyName(name)
            : null;
}
