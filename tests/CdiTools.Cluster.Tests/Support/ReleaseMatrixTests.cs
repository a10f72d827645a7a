using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests.Support;

public sealed class ReleaseMatrixTests
{
    private static readonly SupportMatrix Matrix = SupportMatrix.Cdi;

    private static SupportEntry Entry(string release, CdiImageFormat format, CdiEndpoint endpoint) =>
        Matrix.ForRelease(CdiVersion.Parse(release)).Single(e => e.Format == format && e.Endpoint == endpoint);

    [Theory]
    // Before PR 2832, nbdkit streams qcow2 into qemu-img unless the server lacks ranges.
    [InlineData("v1.56.0", "S**")]
    // PR 2832 reached v1.57.0 through a backport, and main in v1.58.0.
    [InlineData("v1.57.0", "S*")]
    [InlineData("v1.58.0", "S*")]
    [InlineData("v1.66.0", "S*")]
    public void Qcow2_over_http_needs_scratch_from_v1_57_0(string release, string mark)
    {
        Assert.Equal(mark, Entry(release, CdiImageFormat.Qcow2, CdiEndpoint.Http).Mark);
    }

    [Theory]
    [InlineData("v1.52.0", "S")]
    [InlineData("v1.57.0", "S")]
    [InlineData("v1.57.1", "S*")] // backport of PR 3219 to release-v1.57
    [InlineData("v1.58.3", "S")]
    [InlineData("v1.58.4", "S*")]
    [InlineData("v1.59.0", "S")]
    [InlineData("v1.59.1", "S*")]
    [InlineData("v1.60.0", "S*")]
    [InlineData("v1.66.0", "S*")]
    public void Raw_gz_over_http_follows_pr_3219_and_its_backports(string release, string mark)
    {
        Assert.Equal(mark, Entry(release, CdiImageFormat.RawGz, CdiEndpoint.Http).Mark);
    }

    [Fact]
    public void A_release_answer_cites_the_change_that_moved_it_away_from_the_documentation()
    {
        var entry = Entry("v1.60.0", CdiImageFormat.Raw, CdiEndpoint.HttpBasicAuth);

        Assert.True(entry.DiffersFromDocumentation);
        Assert.Equal("S", entry.DocumentedMark);
        Assert.Equal("S*", entry.Mark);
        Assert.Contains(entry.Notes, n => n.Contains("pull request 3219", StringComparison.Ordinal) && n.Contains("v1.59.1", StringComparison.Ordinal));
        Assert.Contains("3219", entry.Reason);
    }

    [Fact]
    public void Archive_imports_allocate_an_unused_scratch_pvc_in_every_modelled_release()
    {
        var entry = Entry("v1.52.0", CdiImageFormat.Tar, CdiEndpoint.Https);

        Assert.Equal(ScratchUse.Always, entry.Scratch);
        Assert.Equal("S", entry.DocumentedMark);
        Assert.Contains(entry.Notes, n => n.Contains("every release CdiTools models", StringComparison.Ordinal));
        Assert.Contains(entry.Notes, n => n.Contains("stays empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Archive_upload_is_supported_by_releases_though_the_documentation_says_not()
    {
        var entry = Entry("v1.66.0", CdiImageFormat.Tar, CdiEndpoint.Upload);

        Assert.True(entry.Supported);
        Assert.Equal("-", entry.DocumentedMark);
        Assert.Contains("1969", entry.Reason);
    }

    [Fact]
    public void Registry_imports_need_scratch_only_with_pod_pull()
    {
        var entry = Entry("v1.66.0", CdiImageFormat.Qcow2, CdiEndpoint.Registry);

        Assert.Equal(ScratchUse.Conditional, entry.Scratch);
        Assert.Contains("pullMethod pod", entry.Condition);
    }

    [Fact]
    public void The_scratch_class_falls_back_to_the_cluster_default_only_before_v1_65_0()
    {
        var before = Entry("v1.64.0", CdiImageFormat.Qcow2, CdiEndpoint.Upload).ScratchStorageClass;
        var since = Entry("v1.65.0", CdiImageFormat.Qcow2, CdiEndpoint.Upload).ScratchStorageClass;

        Assert.Contains("else the cluster's default StorageClass, else", before);
        Assert.Contains("no longer used", since);
        Assert.All(new[] { before, since }, text => Assert.Contains("Filesystem", text));
    }

    [Fact]
    public void Releases_older_than_the_model_are_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Matrix.ForRelease(CdiVersion.Parse("v1.51.0")));

        Assert.Contains("v1.52.0", error.Message);
    }

    [Fact]
    public void Releases_newer_than_the_data_answer_like_the_newest_known()
    {
        var newest = Matrix.ForRelease(Matrix.NewestRelease).Select(e => (e.Mark, e.Reason, e.ScratchStorageClass));
        var later = Matrix.ForRelease(CdiVersion.Parse("v1.80.0")).Select(e => (e.Mark, e.Reason, e.ScratchStorageClass));

        Assert.Equal(newest, later);
    }

    [Fact]
    public void Changes_are_cited_with_their_pull_requests_and_first_releases()
    {
        Assert.Equal([2832, 3219, 4054], Matrix.Changes.Select(c => c.PullRequest));
        Assert.Equal(
            ["v1.57.1", "v1.58.4", "v1.59.1", "v1.60.0"],
            Matrix.Changes.Single(c => c.PullRequest == 3219).FirstReleases.Select(r => r.ToString()));
        Assert.Contains(CdiVersion.Parse("v1.65.0"), Matrix.NotableReleases);
        Assert.Equal(Matrix.OldestRelease, Matrix.NotableReleases[0]);
        Assert.Equal(Matrix.NewestRelease, Matrix.NotableReleases[^1]);
    }

    [Fact]
    public void A_query_filters_by_every_dimension_and_by_scratch()
    {
        var query = new SupportQuery
        {
            Formats = [CdiImageFormat.Raw, CdiImageFormat.RawXz],
            Endpoints = [CdiEndpoint.Https, CdiEndpoint.Upload],
            RequiresScratch = true,
            Release = CdiVersion.Parse("v1.58.0"),
        };

        var entries = Matrix.Select(query).Select(e => (e.Format, e.Endpoint)).ToList();

        Assert.Equal([(CdiImageFormat.Raw, CdiEndpoint.Upload), (CdiImageFormat.RawXz, CdiEndpoint.Upload)], entries);
    }

    [Fact]
    public void A_grid_row_shows_the_documented_mark_beside_a_release_mark_that_differs()
    {
        var row = Matrix.Grid(new SupportQuery { Formats = [CdiImageFormat.Raw], Release = CdiVersion.Parse("v1.66.0") }).Single();

        Assert.Equal("S* (doc S)", row.CellText(CdiEndpoint.Http));
        Assert.Equal("S** (doc S*)", row.CellText(CdiEndpoint.Registry));
        Assert.Equal("S*", row.CellText(CdiEndpoint.Upload));
    }

    [Fact]
    public void A_grid_row_leaves_filtered_endpoints_empty()
    {
        var row = Matrix.Grid(new SupportQuery { Formats = [CdiImageFormat.Tar], Endpoints = [CdiEndpoint.Upload] }).Single();

        Assert.Equal("-", row.CellText(CdiEndpoint.Upload));
        Assert.Equal(string.Empty, row.CellText(CdiEndpoint.Http));
    }
}
