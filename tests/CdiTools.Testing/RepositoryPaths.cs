namespace CdiTools.Testing;

/// <summary>Where the repository and its test data are, found from the test binaries.</summary>
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

    /// <summary>The test data kept in the repository; each folder's README says where its files come from.</summary>
    public static string TestData => Path.Combine(Root, "tests", "data");

    /// <summary>Public image fixtures made by other projects, with qemu-img's results in their README.</summary>
    public static string ImageCorpus => Path.Combine(TestData, "image-corpus");

    /// <summary>CDI's CRDs and the example manifests the tests compare with.</summary>
    public static string CdiReference => Path.Combine(TestData, "cdi-reference");
}
