using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>A mixed 40 MiB raw disk, made once for the oracle tests.</summary>
public sealed class MixedDisk : IDisposable
{
    public MixedDisk()
    {
        Sha256 = DiskContent.WriteMixed(Folder.File("mixed.raw"), Size);
    }

    public const long Size = (40L << 20) + 123 * 512;

    public TemporaryDirectory Folder { get; } = new();

    public string Path => Folder.File("mixed.raw");

    public string Sha256 { get; }

    public void Dispose() => Folder.Dispose();
}

/// <summary>
/// Images qemu-img and qemu-io make, converted by the engine both with random access and forward
/// from a stream: the raw output must be byte-identical to qemu-img convert -O raw, and take no
/// more space.
/// </summary>
public sealed class Qcow2OracleTests(MixedDisk disk) : IClassFixture<MixedDisk>
{
    public static TheoryData<string> Variants => new(Qcow2Variants.Names);

    [Theory]
    [MemberData(nameof(Variants))]
    public void Random_access_output_equals_qemu_img(string variant)
    {
        using var work = new TemporaryDirectory();
        var image = Qcow2Variants.Make(variant, disk.Path, work);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(qemu.Length, result.VirtualSize);
        Assert.True(result.RandomAccess);
        Assert.Equal(0, result.ScratchBytes);
        Assert.True(ExternalTool.AllocatedBytes(work.File("ours.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("ours.raw"))} > qemu {qemu.Allocated}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Forward_output_equals_qemu_img(string variant)
    {
        using var work = new TemporaryDirectory();
        var image = Qcow2Variants.Make(variant, disk.Path, work);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.StreamToFile, image, work.File("ours.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.False(result.RandomAccess);
        Assert.True(ExternalTool.AllocatedBytes(work.File("ours.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("ours.raw"))} > qemu {qemu.Allocated}, sink {result.AllocatedBytes}");
        Assert.Equal(new FileInfo(image).Length, result.BytesRead);
    }

    [Theory]
    [InlineData("v3", 0)]
    [InlineData("v2", 0)]
    [InlineData("clusters-2m", 0)]
    [InlineData("deflate", 256 << 10)]
    [InlineData("zstd", 256 << 10)]
    [InlineData("extended-l2", 0)]
    public void Images_written_by_qemu_img_convert_stream_without_scratch(string variant, long keptAtMost)
    {
        using var work = new TemporaryDirectory();
        var image = Qcow2Variants.Make(variant, disk.Path, work);

        var result = Run.StreamToFile(image, work.File("ours.raw"));

        Assert.Equal(0, result.ScratchBytes);
        Assert.InRange(result.KeptBytes, 0, keptAtMost);
    }

    [Fact]
    public void A_dirty_image_and_one_with_a_bitmap_report_those_features()
    {
        using var work = new TemporaryDirectory();

        using var dirty = LocalImages.Open(Qcow2Variants.Make("dirty", disk.Path, work));
        using var bitmaps = LocalImages.Open(Qcow2Variants.Make("bitmaps", disk.Path, work));

        Assert.Contains("dirty", dirty.Details.Features);
        Assert.Contains("bitmaps", bitmaps.Details.Features);
    }

    [Fact]
    public void An_image_whose_tables_follow_its_data_spills_to_scratch_and_still_converts()
    {
        using var work = new TemporaryDirectory();
        var image = Qcow2Variants.Make("rewritten", disk.Path, work);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.StreamToFile(image, work.File("ours.raw"), new ImageOpenOptions { MemoryBudget = 1 << 20 });

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.True(result.ScratchBytes > 0);
        Assert.Equal(["ours.raw"], work.Files().Where(f => f.StartsWith("ours", StringComparison.Ordinal)));
    }
}
