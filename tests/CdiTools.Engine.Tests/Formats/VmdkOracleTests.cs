using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>A mixed 64 MiB raw disk (plus a partial grain), made once for the VMDK oracle tests, and
/// the VMDKs qemu-img makes of it, each made once.</summary>
public sealed class VmdkDisk : IDisposable
{
    private readonly Dictionary<string, string> images = [];

    public VmdkDisk()
    {
        Sha256 = DiskContent.WriteMixed(Folder.File("mixed.raw"), Size, seed: 7);
    }

    // Not a multiple of the 64 KiB grain, so the last grain is partial.
    public const long Size = (64L << 20) + (37 * 512);

    public TemporaryDirectory Folder { get; } = new();

    public string Path => Folder.File("mixed.raw");

    public string Sha256 { get; }

    /// <summary>The image qemu-img convert -O vmdk -o subformat=<paramref name="subformat"/> makes, in a folder of its own.</summary>
    public string Image(string subformat)
    {
        lock (images)
        {
            if (!images.TryGetValue(subformat, out var image))
            {
                var folder = Folder.File(subformat);
                Directory.CreateDirectory(folder);
                image = System.IO.Path.Combine(folder, "disk.vmdk");
                Qemu.ConvertFromRaw(Path, image, "vmdk", $"subformat={subformat}");
                images[subformat] = image;
            }

            return image;
        }
    }

    public void Dispose() => Folder.Dispose();
}

/// <summary>
/// VMDKs qemu-img makes in each subformat, converted by the engine with random access and forward
/// (behind gzip, or from a plain stream): the raw output must be byte-identical to
/// qemu-img convert -O raw, and images qemu-img writes need nothing kept aside.
/// </summary>
public sealed class VmdkOracleTests(VmdkDisk disk) : IClassFixture<VmdkDisk>
{
    public static TheoryData<string> Subformats => new("monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat");

    [Theory]
    [MemberData(nameof(Subformats))]
    public void Random_access_output_equals_qemu_img(string subformat)
    {
        using var work = new TemporaryDirectory();
        var image = disk.Image(subformat);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"));

        Assert.Equal(disk.Sha256, qemu.Sha256);
        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(VmdkDisk.Size, result.VirtualSize);
        Assert.Equal(["vmdk"], result.FormatChain);
        Assert.True(result.RandomAccess);
        Assert.True(ExternalTool.AllocatedBytes(work.File("ours.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("ours.raw"))} > qemu {qemu.Allocated}");
    }

    [Theory]
    [MemberData(nameof(Subformats))]
    public void The_details_name_the_subformat_as_qemu_img_info_does(string subformat)
    {
        using var opened = LocalImages.Open(disk.Image(subformat));

        Assert.Equal("vmdk", opened.Details.Format);
        Assert.Equal(subformat, opened.Details.Subformat);
        Assert.Equal(VmdkDisk.Size, opened.Details.VirtualSize);
        Assert.Null(opened.Details.BackingFile);
        Assert.Equal(subformat == "streamOptimized" ? "deflate" : null, opened.Details.CompressionType);
    }

    [Theory]
    [InlineData("monolithicSparse")]
    [InlineData("streamOptimized")]
    public void Forward_output_from_a_stream_equals_qemu_img_and_keeps_nothing(string subformat)
    {
        using var work = new TemporaryDirectory();
        var image = disk.Image(subformat);

        var result = Run.Checked(Run.StreamToFile, image, work.File("ours.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.False(result.RandomAccess);
        Assert.Equal(0, result.ScratchBytes);
        Assert.Equal(0, result.KeptBytes);
        Assert.Equal(new FileInfo(image).Length, result.BytesRead);
    }

    [Theory]
    [InlineData("monolithicSparse")]
    [InlineData("streamOptimized")]
    public void Forward_output_behind_gzip_equals_qemu_img_and_keeps_nothing(string subformat)
    {
        using var work = new TemporaryDirectory();
        var wrapped = work.File("disk.vmdk.gz");
        ExternalTool.Shell($"gzip -c -1 '{disk.Image(subformat)}' > '{wrapped}'");

        var result = Run.Checked(Run.FileToFile, wrapped, work.File("ours.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.Equal("vmdk", result.FormatChain[^1]);
        Assert.StartsWith("gzip", result.FormatChain[0]);
        Assert.False(result.RandomAccess);
        Assert.Equal(0, result.ScratchBytes);
        Assert.Equal(0, result.KeptBytes);
    }

    [Theory]
    [InlineData("monolithicFlat")]
    [InlineData("twoGbMaxExtentSparse")]
    public void A_descriptor_file_read_from_a_stream_is_refused(string subformat)
    {
        using var work = new TemporaryDirectory();

        var error = Assert.Throws<ImageException>(() => Run.StreamToFile(disk.Image(subformat), work.File("ours.raw")));

        Assert.Equal("VmdkDescriptorNeedsLocalFile", error.ErrorId);
        Assert.Empty(work.Files());
    }

    [Fact]
    public void Zeroed_grains_written_by_qemu_io_read_as_zeros_at_random_and_forward()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("zeroed.vmdk");
        ExternalTool.Run("qemu-img", "create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", image, "8M");
        ExternalTool.Run("qemu-io", "-f", "vmdk", "-c", "write -P 0x61 0 2M", "-c", "write -z 256k 512k", "-c", "write -P 0x62 7M 64k", image);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));
        using var opened = LocalImages.Open(image);

        Assert.Contains("zeroed grains", opened.Details.Features);
        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.Equal(0, forward.ScratchBytes);
        Assert.True(ExternalTool.AllocatedBytes(work.File("random.raw")) <= (2L << 20) - (512 << 10) + (64 << 10));
    }

    [Fact]
    public void A_descriptor_joining_flat_and_sparse_extents_reads_like_qemu_img()
    {
        using var work = new TemporaryDirectory();

        // qemu-img splits only at 2 GiB; this descriptor splits the disk in three, from two files,
        // one of them in a subfolder: the raw disk itself at two offsets, and a sparse middle.
        var folder = work.File("image");
        Directory.CreateDirectory(Path.Combine(folder, "parts"));
        File.Copy(disk.Path, Path.Combine(folder, "disk.raw"));
        ExternalTool.Shell($"dd if='{disk.Path}' of='{work.File("middle.raw")}' bs=1M skip=16 count=32 status=none");
        Qemu.ConvertFromRaw(work.File("middle.raw"), Path.Combine(folder, "parts", "middle.vmdk"), "vmdk");
        var totalSectors = VmdkDisk.Size / 512;
        var descriptor = Path.Combine(folder, "joined.vmdk");
        File.WriteAllText(descriptor, $"""
            # Disk DescriptorFile
            version=1
            CID=12345678
            parentCID=ffffffff
            createType="monolithicFlat"

            # Extent description
            RW 32768 FLAT "disk.raw" 0
            RW 65536 SPARSE "parts/middle.vmdk"
            RW {totalSectors - 98304} FLAT "disk.raw" 98304

            ddb.adapterType = "ide"

            """);
        var qemu = Qemu.ConvertToRaw(descriptor, work.Path);

        var result = Run.Checked(Run.FileToFile, descriptor, work.File("ours.raw"));

        Assert.Equal(disk.Sha256, qemu.Sha256);
        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(VmdkDisk.Size, result.VirtualSize);
    }
}
