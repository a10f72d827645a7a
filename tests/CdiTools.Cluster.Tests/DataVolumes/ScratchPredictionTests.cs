using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Predicting from a DataVolume and CDI's release whether its import goes through scratch space.</summary>
public sealed class ScratchPredictionTests
{
    private static bool? Predict(DataVolumeRequest request, string? release) =>
        ScratchPrediction.For(DataVolumeManifestBuilder.Build(request, "default").DataVolume, release is null ? null : CdiVersion.Parse(release)).RequiresScratch;

    private static DataVolumeRequest Http(string url) => new() { Name = "d", Source = DataVolumeSourceKind.Http, Url = url, Size = 1L << 30 };

    private static DataVolumeRequest Registry(string? pullMethod) => new() { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "docker://q/i", PullMethod = pullMethod, Size = 1L << 30 };

    [Theory]
    [InlineData("https://x/disk.qcow2", CdiImageFormat.Qcow2)]
    [InlineData("https://x/disk.QCOW2.xz?token=1", CdiImageFormat.Qcow2Xz)]
    [InlineData("https://x/disk.qcow2.gz", CdiImageFormat.Qcow2Gz)]
    [InlineData("https://x/disk.img", CdiImageFormat.Raw)]
    [InlineData("https://x/disk.raw.xz", CdiImageFormat.RawXz)]
    [InlineData("https://x/disk.img.gz", CdiImageFormat.RawGz)]
    [InlineData("https://x/root.tar.gz", CdiImageFormat.Tar)]
    [InlineData("https://x/download?id=3", null)]
    [InlineData("https://x/disk.vmdk", null)]
    public void The_format_comes_from_the_file_name(string url, CdiImageFormat? format) => Assert.Equal(format, ScratchPrediction.FormatOf(url));

    [Theory]
    [InlineData("http://x/disk.qcow2.xz", "v1.52.0", true)]
    [InlineData("http://x/disk.qcow2", "v1.56.0", null)]
    [InlineData("http://x/disk.qcow2", "v1.57.0", true)]
    [InlineData("http://x/disk.img.xz", "v1.66.0", true)]
    [InlineData("http://x/disk.img.xz", "v1.56.0", false)]
    public void Http_imports_follow_the_matrix_of_the_release(string url, string release, bool? expected) =>
        Assert.Equal(expected, Predict(Http(url), release));

    [Fact]
    public void A_custom_CA_decides_the_conditional_cell()
    {
        Assert.Null(Predict(Http("https://x/disk.qcow2"), "v1.56.0"));
        Assert.True(Predict(Http("https://x/disk.qcow2") with { CertConfigMap = "ca" }, "v1.56.0"));
    }

    [Theory]
    [InlineData("http://x/disk.qcow2", null)]
    [InlineData("http://x/disk.img.xz", null)]
    [InlineData("https://x/disk.qcow2", null)]
    [InlineData("http://x/disk.qcow2.xz", true)]
    public void With_no_readable_version_only_what_every_release_agrees_on_is_certain(string url, bool? expected)
    {
        var dv = DataVolumeManifestBuilder.Build(Http(url), "default").DataVolume;

        var prediction = ScratchPrediction.For(dv, null);

        Assert.Equal(expected, prediction.RequiresScratch);
        Assert.Contains(expected is null ? "Unknown: the cluster's CDI version cannot be read" : "the same in every CDI release", prediction.Reason);
    }

    [Fact]
    public void An_upload_needs_scratch_whatever_the_release()
    {
        var dv = DataVolumeManifestBuilder.Build(new DataVolumeRequest { Name = "u", Source = DataVolumeSourceKind.Upload, Size = 1L << 30 }, "default").DataVolume;

        Assert.True(ScratchPrediction.For(dv, null).RequiresScratch);
    }

    [Fact]
    public void Registry_imports_need_scratch_with_pod_pull_only()
    {
        Assert.True(Predict(Registry(null), "v1.66.0"));
        Assert.True(Predict(Registry("pod"), "v1.66.0"));
        Assert.False(Predict(Registry("node"), "v1.66.0"));
    }

    [Fact]
    public void Unknowable_answers_are_null_with_a_reason()
    {
        var dv = DataVolumeManifestBuilder.Build(Http("http://x/download?id=3"), "default").DataVolume;
        var prediction = ScratchPrediction.For(dv, CdiVersion.Parse("v1.56.0"));
        Assert.Null(prediction.RequiresScratch);
        Assert.Contains("depends on the image format", prediction.Reason);

        var s3 = DataVolumeManifestBuilder.Build(new DataVolumeRequest { Name = "s", Source = DataVolumeSourceKind.S3, Url = "https://s3/b/o", Size = 1L << 30 }, "default").DataVolume;
        Assert.Null(ScratchPrediction.For(s3, null).RequiresScratch);
    }
}
