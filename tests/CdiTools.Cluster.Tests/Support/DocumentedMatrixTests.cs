using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests.Support;

public sealed class DocumentedMatrixTests
{
    private static readonly SupportMatrix Matrix = SupportMatrix.Cdi;

    // CDI's documented table, row by row: HTTP, HTTPS, HTTP basic auth, Registry, Upload.
    [Theory]
    [InlineData(CdiImageFormat.Qcow2, "S", "S**", "S", "S*", "S*")]
    [InlineData(CdiImageFormat.Qcow2Gz, "S*", "S*", "S*", "-", "S*")]
    [InlineData(CdiImageFormat.Qcow2Xz, "S*", "S*", "S*", "-", "S*")]
    [InlineData(CdiImageFormat.Raw, "S", "S", "S", "S*", "S*")]
    [InlineData(CdiImageFormat.RawGz, "S", "S", "S", "-", "S*")]
    [InlineData(CdiImageFormat.RawXz, "S", "S", "S", "-", "S*")]
    [InlineData(CdiImageFormat.Tar, "S", "S", "S", "-", "-")]
    public void Every_documented_cell_has_the_documented_mark(CdiImageFormat format, string http, string https, string auth, string registry, string upload)
    {
        var marks = Matrix.Documented.Where(e => e.Format == format).ToDictionary(e => e.Endpoint, e => e.Mark);

        Assert.Equal(
            new Dictionary<CdiEndpoint, string>
            {
                [CdiEndpoint.Http] = http,
                [CdiEndpoint.Https] = https,
                [CdiEndpoint.HttpBasicAuth] = auth,
                [CdiEndpoint.Registry] = registry,
                [CdiEndpoint.Upload] = upload,
            },
            marks);
    }

    [Fact]
    public void The_documented_matrix_has_one_entry_per_format_and_endpoint_in_the_documents_order()
    {
        Assert.Equal(35, Matrix.Documented.Count);
        Assert.Equal(
            Enum.GetValues<CdiImageFormat>(),
            Matrix.Documented.Select(e => e.Format).Distinct());
        Assert.Equal(
            Enum.GetValues<CdiEndpoint>(),
            Matrix.Documented.Take(5).Select(e => e.Endpoint));
        Assert.All(Matrix.Documented, e => Assert.Null(e.Release));
        Assert.All(Matrix.Documented, e => Assert.False(e.DiffersFromDocumentation));
    }

    [Fact]
    public void Only_tar_is_archive_content()
    {
        Assert.All(Matrix.Documented, e =>
            Assert.Equal(e.Format == CdiImageFormat.Tar ? CdiContentType.Archive : CdiContentType.Kubevirt, e.ContentType));
    }

    [Fact]
    public void Qcow2_over_https_needs_scratch_only_with_a_custom_certificate_authority()
    {
        var entry = Matrix.Documented.Single(e => e is { Format: CdiImageFormat.Qcow2, Endpoint: CdiEndpoint.Https });

        Assert.Equal(ScratchUse.Conditional, entry.Scratch);
        Assert.True(entry.Supported);
        Assert.True(entry.RequiresScratch);
        Assert.Contains("custom certificate authority", entry.Condition);
        Assert.Contains("certificate authority", entry.Reason);
    }

    [Fact]
    public void Every_entry_that_needs_scratch_says_why_and_which_class_it_gets()
    {
        var scratch = Matrix.Documented.Where(e => e.RequiresScratch).ToList();

        Assert.Equal(15, scratch.Count);
        Assert.All(scratch, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
        Assert.All(scratch, e => Assert.Contains("scratchSpaceStorageClass", e.ScratchStorageClass));
        Assert.All(scratch, e => Assert.Contains("Filesystem", e.ScratchStorageClass));
        Assert.All(Matrix.Documented.Where(e => !e.RequiresScratch), e => Assert.Null(e.ScratchStorageClass));
    }

    [Theory]
    [InlineData(CdiImageFormat.Qcow2, CdiEndpoint.Registry, "container image")]
    [InlineData(CdiImageFormat.Raw, CdiEndpoint.Upload, "standard input")]
    [InlineData(CdiImageFormat.Qcow2Xz, CdiEndpoint.Http, "compressed")]
    [InlineData(CdiImageFormat.Qcow2Gz, CdiEndpoint.HttpBasicAuth, "compressed")]
    public void Each_scratch_cell_gives_the_documented_reason(CdiImageFormat format, CdiEndpoint endpoint, string reasonPart)
    {
        var entry = Matrix.Documented.Single(e => e.Format == format && e.Endpoint == endpoint);

        Assert.Contains(reasonPart, entry.Reason);
    }

    [Fact]
    public void Unsupported_cells_are_neither_supported_nor_scratch_and_say_why()
    {
        var unsupported = Matrix.Documented.Where(e => e.Mark == "-").ToList();

        Assert.Equal(6, unsupported.Count);
        Assert.All(unsupported, e => Assert.False(e.Supported));
        Assert.All(unsupported, e => Assert.False(e.RequiresScratch));
        Assert.All(unsupported, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
    }

    [Fact]
    public void Archive_content_carries_the_block_mode_footnote_on_every_endpoint()
    {
        var archive = Matrix.Documented.Where(e => e.ContentType == CdiContentType.Archive).ToList();

        Assert.Equal(5, archive.Count);
        Assert.All(archive, e => Assert.Contains(e.Notes, n => n.Contains("Block-mode", StringComparison.Ordinal)));
        Assert.DoesNotContain(Matrix.Documented.Where(e => e.ContentType == CdiContentType.Kubevirt), e => e.Notes.Any(n => n.Contains("Block-mode", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_documentations_disagreement_about_basic_auth_is_shown_where_the_table_says_no_scratch()
    {
        var qcow2 = Matrix.Documented.Single(e => e is { Format: CdiImageFormat.Qcow2, Endpoint: CdiEndpoint.HttpBasicAuth });
        var flagged = Matrix.Documented.Where(e => e.Notes.Any(n => n.Contains("contradicts itself", StringComparison.Ordinal))).ToList();

        Assert.False(qcow2.RequiresScratch);
        Assert.Contains(qcow2, flagged);
        Assert.All(flagged, e => Assert.Equal(CdiEndpoint.HttpBasicAuth, e.Endpoint));
        Assert.All(flagged, e => Assert.False(e.RequiresScratch));
    }
}
