using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests.Support;

public sealed class EngineSupportMatrixTests
{
    private static readonly string[] EveryFormat = ["raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi"];

    private static IReadOnlyList<EngineSupportEntry> Select(SupportQuery? query = null, string[]? formats = null, bool registry = true) =>
        EngineSupportMatrix.Select(query ?? new SupportQuery(), f => (formats ?? EveryFormat).Contains(f), s => registry || s != "docker");

    private static EngineSupportEntry Cell(IReadOnlyList<EngineSupportEntry> entries, string format, CdiEndpoint endpoint) =>
        entries.Single(e => e.Format == format && e.Endpoint == endpoint);

    [Fact]
    public void Every_cdi_row_and_the_four_formats_cdi_leaves_out_have_a_cell_per_endpoint()
    {
        var entries = Select();

        Assert.Equal(11 * 5, entries.Count);
        Assert.Equal(
            ["qcow2", "qcow2.gz", "qcow2.xz", "raw", "raw.gz", "raw.xz", "vmdk", "vhd", "vhdx", "vdi", "tar"],
            entries.Select(e => e.Format).Distinct());
        Assert.All(entries.Where(e => e.Format is "vmdk" or "vhd" or "vhdx" or "vdi"), e => Assert.Null(e.CdiFormat));
    }

    [Fact]
    public void Every_disk_format_the_engine_converts_is_client_side_with_no_scratch_bytes()
    {
        var disks = Select().Where(e => e.ContentType == CdiContentType.Kubevirt).ToList();

        Assert.All(disks, e =>
        {
            Assert.True(e.ClientSide, e.ToString());
            Assert.Equal(0, e.ScratchBytes);
            Assert.StartsWith("Import-CdiImage ", e.Command);
        });
    }

    [Fact]
    public void The_cdi_mark_is_cdis_own_for_the_same_cell_and_follows_the_release()
    {
        var documented = Select();
        var v156 = Select(new SupportQuery { Release = CdiVersion.Parse("v1.56.0") });
        var v166 = Select(new SupportQuery { Release = CdiVersion.Parse("v1.66.0") });

        foreach (var entry in documented.Where(e => e.CdiFormat is not null))
        {
            Assert.Equal(SupportMatrix.Cdi.Documented.Single(d => d.Format == entry.CdiFormat && d.Endpoint == entry.Endpoint).Mark, entry.CdiMark);
        }

        Assert.Equal("S**", Cell(v156, "qcow2", CdiEndpoint.Http).CdiMark);
        Assert.Equal("S*", Cell(v166, "qcow2", CdiEndpoint.Http).CdiMark);
        Assert.Equal(CdiVersion.Parse("v1.66.0"), Cell(v166, "qcow2", CdiEndpoint.Http).Release);
    }

    [Fact]
    public void Formats_cdi_does_not_list_take_the_qcow2_rows_mark_and_say_so()
    {
        var entries = Select(new SupportQuery { Release = CdiVersion.Parse("v1.66.0") });

        var vmdk = Cell(entries, "vmdk", CdiEndpoint.Registry);

        Assert.Equal(Cell(entries, "qcow2", CdiEndpoint.Registry).CdiMark, vmdk.CdiMark);
        Assert.Contains(vmdk.Notes, n => n.Contains("no row for vmdk"));
    }

    [Theory]
    [InlineData("qcow2", CdiEndpoint.Https, "Random")]
    [InlineData("raw", CdiEndpoint.Upload, "Random")]
    [InlineData("qcow2.xz", CdiEndpoint.Http, "Stream")]
    [InlineData("raw.gz", CdiEndpoint.Upload, "Stream")]
    [InlineData("vhdx", CdiEndpoint.Registry, "Stream")]
    public void Wrapped_images_and_registry_layers_stream_and_the_rest_read_only_what_is_mapped(string format, CdiEndpoint endpoint, string access)
    {
        Assert.Equal(access, Cell(Select(), format, endpoint).Access);
    }

    [Fact]
    public void A_client_side_import_still_gets_an_empty_scratch_pvc_from_cdis_upload_controller()
    {
        var cell = Cell(Select(), "qcow2.xz", CdiEndpoint.Http);

        Assert.True(cell.ClusterScratchPvc);
        Assert.Contains(cell.Notes, n => n.Contains("stays empty"));
    }

    [Fact]
    public void Archives_are_cdis_to_unpack_and_keep_cdis_answer()
    {
        var entries = Select(new SupportQuery { Release = CdiVersion.Parse("v1.66.0") });

        var http = Cell(entries, "tar", CdiEndpoint.Http);
        var registry = Cell(entries, "tar", CdiEndpoint.Registry);
        var upload = Cell(entries, "tar", CdiEndpoint.Upload);

        Assert.False(http.ClientSide);
        Assert.Null(http.ScratchBytes);
        Assert.Equal("S*", http.CdiMark);
        Assert.True(http.ClusterScratchPvc);
        Assert.Contains("-ContentType archive", http.Command);
        Assert.Null(registry.Command);
        Assert.Contains("-Archive", upload.Command);
    }

    [Fact]
    public void A_format_without_a_driver_is_left_to_cdi_with_cdis_command()
    {
        var entries = Select(formats: ["raw", "qcow2"]);

        var http = Cell(entries, "vdi", CdiEndpoint.Http);
        var upload = Cell(entries, "vdi", CdiEndpoint.Upload);

        Assert.False(http.ClientSide);
        Assert.StartsWith("New-CdiDataVolume -Name disk -Url http://", http.Command);
        Assert.Contains("-NoConvert", upload.Command);
        Assert.True(Cell(entries, "qcow2", CdiEndpoint.Http).ClientSide);
    }

    [Fact]
    public void Registry_cells_are_client_side_only_when_the_engine_reads_registries()
    {
        var without = Cell(Select(registry: false), "qcow2", CdiEndpoint.Registry);
        var with = Cell(Select(registry: true), "qcow2.gz", CdiEndpoint.Registry);

        Assert.False(without.ClientSide);
        Assert.StartsWith("New-CdiDataVolume", without.Command);
        Assert.True(with.ClientSide);
        Assert.Equal("-", with.CdiMark);
        Assert.Contains(with.Notes, n => n.Contains("unwraps"));
    }

    [Fact]
    public void Filters_select_by_cdi_row_endpoint_content_type_and_scratch_pvc()
    {
        Assert.Equal(["qcow2"], Select(new SupportQuery { Formats = [CdiImageFormat.Qcow2] }).Select(e => e.Format).Distinct());
        Assert.All(Select(new SupportQuery { Endpoints = [CdiEndpoint.Upload] }), e => Assert.Equal(CdiEndpoint.Upload, e.Endpoint));
        Assert.Equal(["tar"], Select(new SupportQuery { ContentTypes = [CdiContentType.Archive] }).Select(e => e.Format).Distinct());
        var noPvc = Select(new SupportQuery { RequiresScratch = false });
        Assert.NotEmpty(noPvc);
        Assert.All(noPvc, e => Assert.False(e.ClusterScratchPvc));
    }
}
