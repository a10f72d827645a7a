using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests.Support;

/// <summary>The matrix data is checked whole when it loads: a mistake in it is an error that says where.</summary>
public sealed class SupportMatrixDataTests
{
    private static readonly string Shipped = ReadShipped();

    private static string ReadShipped()
    {
        using var stream = typeof(SupportMatrix).Assembly.GetManifestResourceStream("CdiTools.Cluster.Support.support-matrix.yaml")!;
        return new StreamReader(stream).ReadToEnd();
    }

    private static InvalidDataException LoadFails(string yaml) =>
        Assert.Throws<InvalidDataException>(() => SupportMatrix.Load(new StringReader(yaml)));

    private static string Replace(string from, string to)
    {
        Assert.Contains(from, Shipped);
        return Shipped.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_data_loads_and_equals_the_embedded_matrix()
    {
        var matrix = SupportMatrix.Load(new StringReader(Shipped));

        Assert.Equal(SupportMatrix.Cdi.Documented.Select(e => e.Mark), matrix.Documented.Select(e => e.Mark));
        Assert.Equal(CdiVersion.Parse("v1.52.0"), matrix.OldestRelease);
        Assert.Equal(CdiVersion.Parse("v1.66.0"), matrix.NewestRelease);
    }

    [Fact]
    public void An_unknown_key_is_refused_with_its_line()
    {
        var error = LoadFails(Replace("newestRelease: v1.66.0", "newestRelease: v1.66.0\nnewsetRelease: v1.67.0"));

        Assert.Contains("line", error.Message);
    }

    [Fact]
    public void A_reference_to_an_undefined_reason_is_refused()
    {
        var error = LoadFails(Replace("reason: registryCompressed }", "reason: registryCompresed }"));

        Assert.Contains("'registryCompresed'", error.Message);
        Assert.Contains("documented, rule 4", error.Message);
    }

    [Fact]
    public void A_rule_that_selects_nothing_is_refused()
    {
        var error = LoadFails(Replace(
            "- { contentTypes: [Archive], endpoints: [Registry, Upload], reason: notInArchive }",
            "- { contentTypes: [Archive], formats: [Raw], reason: notInArchive }"));

        Assert.Contains("selects no cell", error.Message);
    }

    [Fact]
    public void A_conditional_mark_without_a_condition_is_refused()
    {
        var error = LoadFails(Replace(
            "- { formats: [Qcow2], endpoints: [Https], condition: customCa, reason: customCa }",
            "- { formats: [Qcow2], endpoints: [Https], reason: customCa }"));

        Assert.Contains("none is named", error.Message);
    }

    [Fact]
    public void A_scratch_cell_without_a_reason_is_refused()
    {
        var error = LoadFails(Replace(
            "    - { formats: [Qcow2, Raw], endpoints: [Registry], reason: registry }\n",
            string.Empty));

        Assert.Contains("no reason says why", error.Message);
    }

    [Fact]
    public void A_row_with_too_few_marks_is_refused()
    {
        var error = LoadFails(Replace("marks: ['S',  'S',   'S',  '-',  '-']", "marks: ['S',  'S',   'S',  '-']"));

        Assert.Contains("4 marks for 5 endpoints", error.Message);
    }

    [Fact]
    public void An_unknown_mark_is_refused()
    {
        var error = LoadFails(Replace("marks: ['S',  'S',   'S',  '-',  '-']", "marks: ['S',  'S',   'S',  '-',  'X']"));

        Assert.Contains("'X' is not a support mark", error.Message);
    }

    [Fact]
    public void A_change_with_an_unreadable_release_is_refused()
    {
        var error = LoadFails(Replace("firstReleases: [v1.65.0]", "firstReleases: [v1.sixty-five]"));

        Assert.Contains("Inherit the storage class", error.Message);
    }
}
