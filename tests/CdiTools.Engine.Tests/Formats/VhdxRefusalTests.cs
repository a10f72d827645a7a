using System.Buffers.Binary;
using System.Text;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Damaged, truncated and unsupported VHDX images: each is refused with its stable id before any
/// output is left behind, both with random access and forward, or read the way qemu-img reads it
/// where one copy of a duplicated structure survives.
/// </summary>
public sealed class VhdxRefusalTests
{
    private const long DiskSize = 16L << 20;

    [Fact]
    public void One_damaged_header_leaves_the_other_in_charge_as_in_qemu()
    {
        using var work = new TemporaryDirectory();
        var (image, sha256) = Make(work);
        VhdxImages.Edit(image, VhdxImages.Header2 + 100, 1, bytes => bytes[0] ^= 0xFF);

        var random = Run.FileToFile(image, work.File("random.raw"));
        var forward = Run.StreamToFile(image, work.File("forward.raw"));

        Assert.Equal(sha256, random.Sha256);
        Assert.Equal(sha256, forward.Sha256);
        Assert.Equal(sha256, Qemu.ConvertToRaw(image, work.Path).Sha256);
    }

    [Fact]
    public void Two_damaged_headers_are_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        VhdxImages.Edit(image, VhdxImages.Header1 + 100, 1, bytes => bytes[0] ^= 0xFF);
        VhdxImages.Edit(image, VhdxImages.Header2 + 100, 1, bytes => bytes[0] ^= 0xFF);

        AssertRefused(image, work, "VhdxHeaderInvalid");
        Assert.Throws<InvalidOperationException>(() => Qemu.ConvertToRaw(image, work.Path));
    }

    [Fact]
    public void A_damaged_first_region_table_gives_way_to_the_second_copy()
    {
        using var work = new TemporaryDirectory();
        var (image, sha256) = Make(work);
        VhdxImages.Edit(image, VhdxImages.RegionTable1 + 20, 1, bytes => bytes[0] ^= 0xFF);

        var result = Run.FileToFile(image, work.File("out.raw"));
        using var opened = LocalImages.Open(image);

        Assert.Equal(sha256, result.Sha256);
        Assert.Contains(opened.Details.Notes, note => note.Contains("second copy", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_damaged_region_tables_are_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        VhdxImages.Edit(image, VhdxImages.RegionTable1 + 20, 1, bytes => bytes[0] ^= 0xFF);
        VhdxImages.Edit(image, VhdxImages.RegionTable2 + 20, 1, bytes => bytes[0] ^= 0xFF);

        AssertRefused(image, work, "VhdxRegionTableInvalid");
    }

    [Fact]
    public void A_bat_beyond_the_end_of_the_file_is_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        SetRegionOffset(image, VhdxImages.BatRegion, 1L << 40);

        AssertRefused(image, work, "VhdxBatBeyondEndOfFile");
    }

    [Fact]
    public void Overlapping_regions_are_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        SetRegionOffset(image, VhdxImages.BatRegion, VhdxImages.Region(image, VhdxImages.MetadataRegion).Offset);

        AssertRefused(image, work, "VhdxRegionOverlap");
    }

    [Fact]
    public void An_image_cut_inside_its_last_block_is_refused_like_qemu_refuses_it()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        using (var file = new FileStream(image, FileMode.Open))
        {
            file.SetLength(file.Length - (512 << 10));
        }

        AssertRefused(image, work, "VhdxBlockBeyondEndOfFile");
        Assert.Throws<InvalidOperationException>(() => Qemu.ConvertToRaw(image, work.Path));
    }

    [Fact]
    public void An_image_cut_inside_its_header_section_is_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        using (var file = new FileStream(image, FileMode.Open))
        {
            file.SetLength(200 << 10);
        }

        AssertRefused(image, work, "VhdxTruncated");
    }

    [Fact]
    public void A_differencing_image_is_refused_naming_its_parent()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        VhdxImages.AddParentLocator(image, @".\base-disk.vhdx");

        var error = AssertRefused(image, work, "VhdxDifferencingUnsupported");

        Assert.Contains(@".\base-disk.vhdx", error.Message);
        Assert.True(error.IsUnsupported);
        Assert.Throws<InvalidOperationException>(() => Qemu.ConvertToRaw(image, work.Path));
    }

    [Fact]
    public void An_unknown_required_metadata_item_is_refused()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        var (_, entry) = VhdxImages.MetadataItem(image, VhdxImages.LogicalSectorSize);
        VhdxImages.Edit(image, entry, 32, bytes =>
        {
            Guid.NewGuid().TryWriteBytes(bytes);
            bytes[24] |= 4;
        });

        AssertRefused(image, work, "VhdxRequiredMetadataUnsupported");
    }

    [Theory]
    [InlineData(512 << 10, "VhdxBlockSizeInvalid")]
    [InlineData(3 << 20, "VhdxBlockSizeInvalid")]
    [InlineData(512 << 20, "VhdxBlockSizeInvalid")]
    public void A_block_size_qemu_would_not_open_is_refused(int blockSize, string errorId)
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        var (item, _) = VhdxImages.MetadataItem(image, VhdxImages.FileParameters);
        VhdxImages.Edit(image, item, 4, bytes => BinaryPrimitives.WriteInt32LittleEndian(bytes, blockSize));

        AssertRefused(image, work, errorId);
    }

    [Fact]
    public void A_virtual_size_over_64_TiB_is_refused_before_the_bat_is_allocated()
    {
        using var work = new TemporaryDirectory();
        var (image, _) = Make(work);
        var (item, _) = VhdxImages.MetadataItem(image, new Guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8"));
        VhdxImages.Edit(image, item, 8, bytes => BinaryPrimitives.WriteInt64LittleEndian(bytes, (64L << 40) + 512));

        AssertRefused(image, work, "VhdxVirtualSizeTooLarge");
    }

    [Fact]
    public void A_log_entry_with_a_malformed_descriptor_is_refused_as_qemu_refuses_to_replay_it()
    {
        using var work = new TemporaryDirectory();
        var image = VhdxCorpusTests.Unpack("qemu-iotests-sample_images/iotest-dirtylog-10G-4M.vhdx.bz2", work);

        // The active entry is the last one, at 48 KiB into the log at 1 MiB; its descriptor
        // follows the 64-byte entry header. The entry's checksum is kept valid.
        var entry = (1L << 20) + (48 << 10);
        VhdxImages.Edit(image, entry + 64, 4, bytes => "xxxx"u8.CopyTo(bytes), entry, 8192);

        var error = AssertRefused(image, work, "VhdxLogInvalid");
        Assert.Contains("Descriptor 0", error.Message);
        File.Copy(image, work.File("copy.vhdx"));
        Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("qemu-img", "check", "-r", "all", work.File("copy.vhdx")));
    }

    private static (string Image, string Sha256) Make(TemporaryDirectory work)
    {
        var raw = work.File("disk.raw");
        var sha256 = DiskContent.WriteMixed(raw, DiskSize, seed: 3);
        var image = work.File("disk.vhdx");
        Qemu.ConvertFromRaw(raw, image, "vhdx", "subformat=dynamic", "block_size=1M");
        File.Delete(raw);
        return (image, sha256);
    }

    private static ImageException AssertRefused(string image, TemporaryDirectory work, string errorId)
    {
        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal(errorId, random.ErrorId);
        Assert.Equal(errorId, forward.ErrorId);
        Assert.False(File.Exists(work.File("random.raw")));
        Assert.False(File.Exists(work.File("forward.raw")));
        return random;
    }

    // Both region table copies are edited alike, with their checksums kept valid.
    private static void SetRegionOffset(string image, Guid region, long offset)
    {
        var entry = VhdxImages.RegionEntry(image, region);
        foreach (var table in (int[])[VhdxImages.RegionTable1, VhdxImages.RegionTable2])
        {
            var at = entry - VhdxImages.RegionTable1 + table;
            VhdxImages.Edit(image, at + 16, 8, bytes => BinaryPrimitives.WriteInt64LittleEndian(bytes, offset), table, 64 * 1024);
        }
    }
}
