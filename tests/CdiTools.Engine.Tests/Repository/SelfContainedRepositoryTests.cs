using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CdiTools.Testing;

namespace CdiTools.Engine.Tests.Repository;

/// <summary>
/// A clone stands alone: nothing in the repository reaches above its root, and the test data it
/// carries instead is complete, documented and intact.
/// </summary>
public sealed partial class SelfContainedRepositoryTests
{
    private static readonly string[] SkippedFolders = ["bin", "obj", "out", "TestResults", ".git", ".vs"];

    // A run of ".." components in any of the spellings code and scripts use: "../", "..\",
    // "..", "..." as separate arguments, followed by the name it leads to.
    [GeneratedRegex("""((?:\.\.(?:[\\/]|["']\s*,\s*["']))+)([A-Za-z0-9_.-]*)""")]
    private static partial Regex ParentRun();

    // C#: a path built from the repository root that climbs out of it.
    [GeneratedRegex("""Root\w*\s*,\s*"\.\."|Root\w*\s*\+\s*"[\\/]?\.\.""")]
    private static partial Regex CodeClimbingFromRoot();

    [Fact]
    public void Nothing_in_the_repository_refers_to_the_folder_above_its_root()
    {
        var root = RepositoryPaths.Root;
        var findings = new List<string>();
        foreach (var file in TextFiles(root))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            var depth = relative.Count(c => c == '/');
            var code = file.EndsWith(".cs", StringComparison.Ordinal);
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                foreach (Match match in ParentRun().Matches(lines[i]))
                {
                    var climbs = Regex.Count(match.Groups[1].Value, @"\.\.");
                    var target = match.Groups[2].Value;

                    // Scripts, project files and documents resolve ".." from their own folder, so a
                    // run longer than the file is deep leaves the repository. C# resolves it from
                    // wherever the code runs, so there only a climb to a sibling of the root counts.
                    var leaves = !code && climbs > depth;
                    if (leaves || (target is "shared" or "image-corpus" or "cdi-reference" && !relative.StartsWith("tests/data/", StringComparison.Ordinal)))
                    {
                        findings.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
                    }
                }

                if (code && CodeClimbingFromRoot().IsMatch(lines[i]))
                {
                    findings.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(findings.Count == 0, "These lines reach above the repository root:\n" + string.Join("\n", findings));
    }

    [Fact]
    public void The_scan_finds_the_ways_a_path_can_reach_above_the_root()
    {
        string[] escapes = ["Path.Combine(Root, \"..\", \"shared\", \"image-corpus\")", ".." + "/shared/image-corpus", ".." + "\\shared\\cdi-reference", "Join-Path $PSScriptRoot '../../x'"];
        Assert.All(escapes, line => Assert.True(ParentRun().IsMatch(line) || CodeClimbingFromRoot().IsMatch(line), line));
        Assert.Equal("shared", ParentRun().Match("Path.Combine(directory, \"..\", \"shared\")").Groups[2].Value);
        Assert.Equal(2, Regex.Count(ParentRun().Match("'../../x'").Groups[1].Value, @"\.\."));
    }

    [Theory]
    [InlineData("image-corpus")]
    [InlineData("cdi-reference")]
    public void Every_test_data_file_is_named_in_its_folder_s_README_and_nothing_else_lies_there(string folder)
    {
        var directory = Path.Combine(RepositoryPaths.TestData, folder);
        var readme = File.ReadAllText(Path.Combine(directory, "README.md"));
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .Where(f => f is not "README.md" and not "SHA256SUMS")
            .ToList();

        Assert.NotEmpty(files);
        var undocumented = files.Where(f => !readme.Contains(Path.GetFileName(f), StringComparison.Ordinal)).ToList();
        Assert.True(undocumented.Count == 0, "Not in README.md: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void The_image_corpus_matches_its_checksums_file_byte_for_byte()
    {
        var directory = RepositoryPaths.ImageCorpus;
        var listed = File.ReadAllLines(Path.Combine(directory, "SHA256SUMS"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split("  ", 2))
            .ToDictionary(p => p[1], p => p[0], StringComparer.Ordinal);
        var present = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .Where(f => f is not "README.md" and not "SHA256SUMS")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(listed.Keys.Order(StringComparer.Ordinal), present);
        foreach (var file in present)
        {
            using var stream = File.OpenRead(Path.Combine(directory, file));
            Assert.True(listed[file] == Convert.ToHexStringLower(SHA256.HashData(stream)), $"{file} differs from its upstream copy");
        }
    }

    private static IEnumerable<string> TextFiles(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (IsText(file))
            {
                yield return file;
            }
        }

        foreach (var sub in Directory.EnumerateDirectories(directory))
        {
            if (SkippedFolders.Contains(Path.GetFileName(sub), StringComparer.Ordinal))
            {
                continue;
            }

            foreach (var file in TextFiles(sub))
            {
                yield return file;
            }
        }
    }

    // Binary files (images, archives) hold no paths the project follows; a NUL near the start marks them.
    private static bool IsText(string file)
    {
        Span<byte> head = stackalloc byte[8192];
        using var stream = File.OpenRead(file);
        var read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return !head[..read].Contains((byte)0);
    }
}
