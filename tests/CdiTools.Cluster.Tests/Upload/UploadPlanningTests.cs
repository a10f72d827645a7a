using CdiTools.Cluster.Models;
using CdiTools.Cluster.Upload;
using CdiTools.Engine;

namespace CdiTools.Cluster.Tests.Upload;

/// <summary>What an upload works out before it sends anything: where the proxy is, how large the volume must be, what it is called.</summary>
public sealed class UploadPlanningTests
{
    private static CdiConfig Config(string? overrideUrl = null, string? statusUrl = null, string? global = null, Dictionary<string, string>? perClass = null) => new()
    {
        Spec = new CdiConfigSpec { UploadProxyUrlOverride = overrideUrl },
        Status = new CdiConfigStatus { UploadProxyUrl = statusUrl, FilesystemOverhead = new FilesystemOverhead { Global = global, StorageClass = perClass } },
    };

    [Theory]
    [InlineData("https://given:8443", "override.example", "status.example", "https://given:8443/")]
    [InlineData(null, "override.example", "status.example", "https://override.example/")]
    [InlineData(null, null, "cdi-uploadproxy-cdi.apps.example", "https://cdi-uploadproxy-cdi.apps.example/")]
    [InlineData(null, "", "127.0.0.1:31001", "https://127.0.0.1:31001/")]
    [InlineData("http://localhost:8080", null, null, "http://localhost:8080/")]
    public void The_proxy_is_the_one_given_else_CDIConfig_s_override_else_its_status(string? given, string? overrideUrl, string? status, string expected) =>
        Assert.Equal(expected, UploadProxyAddress.Resolve(given, Config(overrideUrl, status)).ToString());

    [Fact]
    public void Without_any_address_the_error_says_how_to_get_one()
    {
        var error = Assert.Throws<ClusterException>(() => UploadProxyAddress.Resolve(null, Config()));

        Assert.Equal("UploadProxyUnknown", error.ErrorId);
        Assert.Contains("-UploadProxyUrl", error.Message);
        Assert.Equal("UploadProxyInvalid", Assert.Throws<ClusterException>(() => UploadProxyAddress.Resolve("ftp://x", Config())).ErrorId);
    }

    [Fact]
    public void The_request_is_the_disk_s_size_and_CDI_adds_the_class_s_filesystem_overhead_to_the_claim()
    {
        var config = Config(global: "0.06", perClass: new() { ["ceph"] = "0.1" });
        var disk = 10L << 30;
        var request = new ImageUploadRequest { Source = ImageLocation.File("x.qcow2"), Name = "x" };

        Assert.Equal(0.06, config.FilesystemOverheadFor(null));
        Assert.Equal(0.1, config.FilesystemOverheadFor("ceph"));
        Assert.Equal(0.06, config.FilesystemOverheadFor("other"));
        Assert.Equal(0.06, Config().FilesystemOverheadFor(null));
        var v166 = CdiVersion.Parse("v1.66.0");
        Assert.Equal(disk, ImageUploadService.RequestSize(disk, request, config, v166));
        Assert.Equal(disk, ImageUploadService.RequestSize(disk, request with { StorageClass = "ceph" }, config, v166));
        Assert.Equal(disk, ImageUploadService.RequestSize(disk, request with { VolumeMode = "Block" }, config, v166));
        Assert.Equal(2L << 20, ImageUploadService.RequestSize((1L << 20) + 1, request, config, v166));
        Assert.Equal((long)Math.Ceiling(disk * 1.06), ImageUploadService.ClaimSize(disk, request, config, v166));
        Assert.Equal((long)Math.Ceiling(disk * 1.1), ImageUploadService.ClaimSize(disk, request with { StorageClass = "ceph" }, config, v166));
        Assert.Equal(disk, ImageUploadService.ClaimSize(disk, request with { VolumeMode = "Block" }, config, v166));
    }

    [Theory]
    [InlineData("Fedora-Cloud-Base_40.x86_64.qcow2.xz", "fedora-cloud-base-40-x86-64")]
    [InlineData("/images/disk.img.gz", "disk")]
    [InlineData("WIN 2022 (eval).vhdx", "win-2022-eval")]
    [InlineData("___.qcow2", null)]
    public void A_DataVolume_name_is_made_from_the_file_name(string file, string? name) => Assert.Equal(name, DataVolumeNames.FromImage(file));

    [Fact]
    public void A_made_name_is_at_most_63_characters_and_does_not_end_in_a_dash()
    {
        var name = DataVolumeNames.FromImage(new string('a', 62) + "-b-c.qcow2")!;

        Assert.True(name.Length <= 63);
        Assert.False(name.EndsWith('-'));
    }
}
