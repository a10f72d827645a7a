using System.Reflection;
using System.Text.RegularExpressions;
using CdiTools.Testing;

namespace CdiTools.Engine.Tests;

/// <summary>The error catalogue: every id declared once, named as it is reported, of the kind its name says, and used.</summary>
public sealed partial class ImageErrorsTests
{
    private static IReadOnlyList<(string Field, ImageError Error)> Declared() =>
        [.. typeof(ImageErrors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(ImageError))
            .Select(f => (f.Name, (ImageError)f.GetValue(null)!))];

    [GeneratedRegex(@"\bImageErrors\.([A-Z][A-Za-z0-9]+)\b")]
    private static partial Regex Reference();

    [Fact]
    public void Every_id_is_declared_once_under_its_own_name()
    {
        var declared = Declared();

        Assert.True(declared.Count > 100, $"only {declared.Count} ids");
        Assert.All(declared, d => Assert.Equal(d.Field, d.Error.Id));
        Assert.Equal(declared.Count, declared.Select(d => d.Error.Id).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void An_id_that_says_unsupported_is_of_that_kind_and_no_other_is()
    {
        foreach (var (_, error) in Declared().Where(d => !d.Error.Id.StartsWith("Http", StringComparison.Ordinal)))
        {
            var named = error.Id.Contains("Unsupported", StringComparison.Ordinal) || error.Id.EndsWith("NotSupported", StringComparison.Ordinal);
            Assert.True(named == (error.Kind == ImageErrorKind.Unsupported), $"{error.Id} is {error.Kind}");
        }
    }

    [Fact]
    public void Every_declared_id_is_reported_somewhere_in_the_engine()
    {
        var sources = Path.Combine(RepositoryPaths.Root, "src", "CdiTools.Engine");
        var used = Directory.EnumerateFiles(sources, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && Path.GetFileName(f) != "ImageErrors.cs")
            .SelectMany(f => Reference().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

        var unused = Declared().Select(d => d.Error.Id).Where(id => !used.Contains(id)).ToList();
        Assert.True(unused.Count == 0, $"declared but never reported: {string.Join(", ", unused)}");
    }
}
