using System.Buffers.Binary;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Broken and unsupported VMDKs: each refusal has its stable id, in both reading modes where both
/// apply, and leaves no output behind. Images are made small by qemu-img, then damaged.
/// </summary>
public sealed class VmdkRefusalTests
{
    private const int GrainSize = 64 << 10;

    private static string Make(TemporaryDirectory work, string subformat = "monolithicSparse")
    {
        var raw = work.File("disk.raw");
        DiskContent.WriteMixed(raw, 4 << 20, seed: 11);
        var image = work.File("image.vmdk");
        Qemu.ConvertFromRaw(raw, image, "vmdk", $"subformat={subformat}");
        File.Delete(raw);
        return image;
    }

    private static void Patch(string image, long offset, Action<byte[]> change, int length)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        change(bytes);
        file.Position = offset;
        file.Write(bytes);
    }

    private static void PatchU16(string image, long offset, ushort value) => Patch(image, offset, b => BinaryPrimitives.WriteUInt16LittleEndian(b, value), 2);

    private static void PatchU32(string image, long offset, uint value) => Patch(image, offset, b => BinaryPrimitives.WriteUInt32LittleEndian(b, value), 4);

    private static void PatchU64(string image, long offset, ulong value) => Patch(image, offset, b => BinaryPrimitives.WriteUInt64LittleEndian(b, value), 8);

    private static uint ReadU32(string image, long offset)
    {
        using var file = File.OpenRead(image);
        var bytes = new byte[4];
        file.Position = offset;
        file.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    private static long DirectoryOffset(string image) => ReadU32(image, 56) * 512L;

    private static long FirstTableOffset(string image) => ReadU32(image, DirectoryOffset(image)) * 512L;

    private static long GrainOffset(string image, int grain) => ReadU32(image, FirstTableOffset(image) + (grain * 4L)) * 512L;

    /// <summary>Both reading modes refuse with <paramref name="errorId"/> and leave only the image in the folder.</summary>
    private static ImageException Refused(TemporaryDirectory work, string image, string errorId, string? forwardErrorId = null)
    {
        var before = work.Files();
        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal(errorId, random.ErrorId);
        Assert.Equal(forwardErrorId ?? errorId, forward.ErrorId);
        Assert.Equal(before, work.Files());
        return random;
    }

    [Theory]
    [InlineData(4, 4UL, 4, "VmdkUnsupportedVersion")]
    [InlineData(44, 1024UL, 4, "VmdkGrainTableTooLarge")]
    [InlineData(44, 0UL, 4, "VmdkGrainSizeInvalid")]
    [InlineData(20, 0UL, 8, "VmdkGrainSizeInvalid")]
    [InlineData(20, 8192UL, 8, "VmdkGrainSizeInvalid")]
    [InlineData(77, 2UL, 2, "VmdkUnsupportedCompression")]
    public void A_header_field_out_of_range_is_refused(int offset, ulong value, int width, string errorId)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        switch (width)
        {
            case 2: PatchU16(image, offset, (ushort)value); break;
            case 4: PatchU32(image, offset, (uint)value); break;
            default: PatchU64(image, offset, value); break;
        }

        var error = Refused(work, image, errorId);

        Assert.Equal(offset, error.Offset);
    }

    [Fact]
    public void A_grain_directory_beyond_the_end_of_the_file_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU64(image, 56, 0x100000);

        var error = Refused(work, image, "VmdkOffsetBeyondEndOfFile");

        Assert.Equal(56, error.Offset);
    }

    [Fact]
    public void A_grain_table_beyond_the_end_of_the_file_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU32(image, DirectoryOffset(image), 0x7FFF_0000);

        var error = Refused(work, image, "VmdkOffsetBeyondEndOfFile");

        Assert.Equal(DirectoryOffset(image), error.Offset);
    }

    [Fact]
    public void A_grain_beyond_the_end_of_the_file_is_refused_where_qemu_reads_zeros()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU32(image, FirstTableOffset(image), 0x7FFF_0000);

        Refused(work, image, "VmdkOffsetBeyondEndOfFile");
    }

    [Theory]
    [InlineData("monolithicSparse")]
    [InlineData("streamOptimized")]
    public void A_truncated_image_is_refused(string subformat)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, subformat);
        using (var file = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            file.SetLength(file.Length / 2);
        }

        Refused(work, image, "VmdkOffsetBeyondEndOfFile");
    }

    [Fact]
    public void A_truncated_esxi_stream_optimized_image_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("esxi.vmdk");
        ExternalTool.Shell($"bzip2 -dc '{Path.Combine(RepositoryPaths.ImageCorpus, "qemu-iotests-sample_images/iotest-version3.vmdk.bz2")}' | head -c 100000 > '{image}'");

        // The disk is 16 GiB: convert without hashing every zero.
        var random = Assert.Throws<ImageException>(() => VmdkRun.WithoutHash(image, work.File("random.raw"), forward: false));
        var forward = Assert.Throws<ImageException>(() => VmdkRun.WithoutHash(image, work.File("forward.raw"), forward: true));

        Assert.Equal("VmdkFooterInvalid", random.ErrorId);
        Assert.Equal("VmdkStreamTruncated", forward.ErrorId);
        Assert.Equal(["esxi.vmdk"], work.Files());
    }

    [Theory]
    [InlineData("size")]
    [InlineData("data")]
    public void A_bad_compressed_grain_is_refused(string damage)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, "streamOptimized");
        var grain = GrainOffset(image, 0);
        if (damage == "size")
        {
            PatchU32(image, grain + 8, 3 * GrainSize);
        }
        else
        {
            Patch(image, grain + 100, b => Array.Fill(b, (byte)0x5A), 16);
        }

        var error = Refused(work, image, "VmdkCompressedGrainCorrupt");

        Assert.Equal(damage == "size" ? grain + 8 : grain, error.Offset);
    }

    [Fact]
    public void A_differencing_disk_is_refused_naming_its_parent()
    {
        using var work = new TemporaryDirectory();
        ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "vmdk", "parent-disk.vmdk", "4M");
        ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "vmdk", "-b", "parent-disk.vmdk", "-F", "vmdk", "child.vmdk");
        using var opened = LocalImages.Open(work.File("child.vmdk"));

        var error = Refused(work, work.File("child.vmdk"), "VmdkParentNotSupported");

        Assert.Contains("parent-disk.vmdk", error.Message);
        Assert.Equal("parent-disk.vmdk", opened.Details.BackingFile);
        Assert.Equal("VmdkParentNotSupported", opened.Driver.Refusal?.ErrorId);
    }

    [Theory]
    [InlineData("RW 8192 SESPARSE \"disk-flat.vmdk\"", "monolithicFlat", "VmdkExtentTypeUnsupported")]
    [InlineData("RW 8192 FLAT \"missing-flat.vmdk\" 0", "monolithicFlat", "VmdkExtentNotFound")]
    [InlineData("RW 8192 FLAT \"disk-flat.vmdk\"", "monolithicFlat", "VmdkExtentLineInvalid")]
    [InlineData("RW 8192 FLAT \"disk-flat.vmdk\" 0", "monolithicSparse", "VmdkUnsupportedCreateType")]
    [InlineData("RDONLY 8192 FLAT \"disk-flat.vmdk\" 0", "monolithicFlat", "VmdkDescriptorInvalid")]
    public void A_descriptor_file_with_an_extent_that_cannot_be_read_is_refused(string extentLine, string createType, string errorId)
    {
        using var work = new TemporaryDirectory();
        File.WriteAllBytes(work.File("disk-flat.vmdk"), new byte[8192 * 512]);
        File.WriteAllText(work.File("disk.vmdk"), $"""
            # Disk DescriptorFile
            version=1
            CID=fffffffe
            parentCID=ffffffff
            createType="{createType}"

            # Extent description
            {extentLine}

            """);

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(work.File("disk.vmdk"), work.File("out.raw")));

        Assert.Equal(errorId, error.ErrorId);
        Assert.DoesNotContain("out.raw", work.Files());
    }

    [Fact]
    public void An_esxi_image_whose_grain_table_disagrees_with_its_markers_is_refused_forward_and_read_like_qemu_at_random()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("esxi.vmdk");
        ExternalTool.Shell($"bzip2 -dc '{Path.Combine(RepositoryPaths.ImageCorpus, "qemu-iotests-sample_images/iotest-version3.vmdk.bz2")}' > '{image}'");

        // The first grain table (after its marker at sector 180) maps grain 0 to sector 128 and
        // grain 10 to sector 129; swap them, so the tables and the markers disagree.
        const long table = 181 * 512;
        Assert.Equal(128u, ReadU32(image, table));
        Assert.Equal(129u, ReadU32(image, table + 40));
        PatchU32(image, table, 129);
        PatchU32(image, table + 40, 128);
        ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, work.File("qemu.raw"));

        var forward = Assert.Throws<ImageException>(() => VmdkRun.WithoutHash(image, work.File("forward.raw"), forward: true));
        VmdkRun.WithoutHash(image, work.File("random.raw"), forward: false);

        Assert.Equal("VmdkGrainTableMismatch", forward.ErrorId);
        Assert.Equal(table, forward.Offset);
        Assert.DoesNotContain("forward.raw", work.Files());
        VmdkRun.AssertSameContent(work.File("qemu.raw"), work.File("random.raw"));
    }

    [Theory]
    [InlineData("monolithicSparse")]
    [InlineData("streamOptimized")]
    public void Grains_stored_out_of_disk_order_are_kept_when_read_forward_and_still_convert(string subformat)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, subformat);

        // Swap the first two grains' places: the disk needs grain 0 from where grain 1 lies, which
        // comes later in the file, so grain 1's bytes (at grain 0's old place) must be kept; the
        // budget holds the grain tables but not a grain, so the grain spills.
        var table = FirstTableOffset(image);
        var (first, second) = (ReadU32(image, table), ReadU32(image, table + 4));
        PatchU32(image, table, second);
        PatchU32(image, table + 4, first);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.StreamToFile(image, work.File("forward.raw"), new ImageOpenOptions { MemoryBudget = 4096 });

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(GrainSize, result.ScratchBytes);
        Assert.Equal(GrainSize, result.KeptBytes);
    }
}
