namespace CdiTools.Testing;

/// <summary>Where the repository and the shared reference data are, found from the test binaries.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CdiPowerShell.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No CdiPowerShell.sln above {AppContext.BaseDirectory}.");
    });

    public static string Root => RootPath.Value;

    /// <summary>The public image fixtures beside the repository, with qemu-img's results in their README.</summary>
    public static string ImageCorpus => Path.GetFullPath(Path.Combine(Root, "..", "shared", "image-corpus"));

    /// <summary>CDI's CRDs, OpenAPI spec and example manifests beside the repository.</summary>
    public static string CdiReference => Path.GetFullPath(Path.Combine(Root, "..", "shared", "cdi-reference"));
}
