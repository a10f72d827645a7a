using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>A mixed raw disk of 96 MiB and a few sectors (so the last VHDX block is short), made once for the VHDX oracle tests.</summary>
public sealed class VhdxMixedDisk : IDisposable
{
    public const long Size = (96L << 20) + (77 * 512);

    public VhdxMixedDisk()
    {
        Sha256 = DiskContent.WriteMixed(Folder.File("mixed.raw"), Size, seed: 7);
    }

    public TemporaryDirectory Folder { get; } = new();

    public string Path => Folder.File("mixed.raw");

    public string Sha256 { get; }

    public void Dispose() => Folder.Dispose();
}

/// <summary>
/// VHDX images qemu-img writes, dynamic and fixed, in block sizes from 1 MiB to 256 MiB,
/// converted by the engine with random access and forward from a stream: the raw output must be
/// byte-identical to qemu-img convert -O raw, with nothing kept aside when streaming.
/// </summary>
public sealed class VhdxOracleTests(VhdxMixedDisk disk) : IClassFixture<VhdxMixedDisk>
{
    public static TheoryData<string, string> Variants => new()
    {
        { "dynamic", "1M" },
        { "dynamic", "8M" },
        { "dynamic", "32M" },
        { "dynamic", "256M" },
        { "fixed", "1M" },
        { "fixed", "32M" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Random_access_and_forward_output_equal_qemu_img(string subformat, string blockSize)
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk.vhdx");
        Qemu.ConvertFromRaw(disk.Path, image, "vhdx", $"subformat={subformat}", $"block_size={blockSize}");
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));

        Assert.Equal(disk.Sha256, qemu.Sha256);
        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.Equal(qemu.Length, random.VirtualSize);
        Assert.Equal(["vhdx"], random.FormatChain);
        Assert.True(random.RandomAccess);
        Assert.False(forward.RandomAccess);
        Assert.Equal(0, forward.ScratchBytes);
        Assert.Equal(0, forward.KeptBytes);
        Assert.Equal(new FileInfo(image).Length, forward.BytesRead);
        Assert.True(ExternalTool.AllocatedBytes(work.File("random.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("random.raw"))} > qemu {qemu.Allocated}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Details_name_the_subformat_and_block_size(string subformat, string blockSize)
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk.vhdx");
        Qemu.ConvertFromRaw(disk.Path, image, "vhdx", $"subformat={subformat}", $"block_size={blockSize}");

        using var opened = LocalImages.Open(image);

        Assert.Equal("vhdx", opened.Details.Format);
        Assert.Equal(subformat, opened.Details.Subformat);
        Assert.Equal(int.Parse(blockSize.TrimEnd('M'), System.Globalization.CultureInfo.InvariantCulture) << 20, opened.Details.ClusterSize);
        Assert.Equal(VhdxMixedDisk.Size, opened.Details.VirtualSize);
        Assert.Empty(opened.Details.Notes);
    }

    [Fact]
    public void An_image_with_4096_byte_logical_sectors_reads_as_the_same_disk_though_qemu_img_refuses_it()
    {
        // qemu-img makes only 512-byte logical sectors. Below 4096 blocks no sector bitmap entry
        // is interleaved in the BAT either way, so the same file read with 4096-byte sectors
        // holds the same disk.
        using var work = new TemporaryDirectory();
        var sha256 = DiskContent.WriteMixed(work.File("disk.raw"), 24L << 20, seed: 11);
        var image = work.File("disk.vhdx");
        Qemu.ConvertFromRaw(work.File("disk.raw"), image, "vhdx", "block_size=1M");
        var (item, _) = VhdxImages.MetadataItem(image, VhdxImages.LogicalSectorSize);
        VhdxImages.Edit(image, item, 4, bytes => System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes, 4096));

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));
        using var opened = LocalImages.Open(image);

        Assert.Equal(sha256, random.Sha256);
        Assert.Equal(sha256, forward.Sha256);
        Assert.Contains(opened.Details.Notes, note => note.Contains("4096-byte logical sectors", StringComparison.Ordinal));
        Assert.Throws<InvalidOperationException>(() => Qemu.ConvertToRaw(image, work.Path));
    }

    [Fact]
    public void A_gzip_wrapped_image_streams_in_one_pass_without_scratch()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk.vhdx");
        Qemu.ConvertFromRaw(disk.Path, image, "vhdx", "subformat=dynamic", "block_size=8M");
        ExternalTool.Shell($"gzip -1 -c '{image}' > '{image}.gz'");

        var result = Run.Checked(Run.FileToFile, image + ".gz", work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.False(result.RandomAccess);
        Assert.Equal("vhdx", result.FormatChain[^1]);
        Assert.StartsWith("gzip", result.FormatChain[0]);
        Assert.Equal(0, result.ScratchBytes);
        Assert.Equal(0, result.KeptBytes);
    }
}
