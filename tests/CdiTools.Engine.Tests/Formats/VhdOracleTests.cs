using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// VHDs qemu-img writes (dynamic and fixed, sized by CHS geometry or with force_size), converted by
/// the engine with random access and forward from a stream: byte-identical to
/// qemu-img convert -f vpc -O raw, and with nothing kept when read forward.
/// </summary>
public sealed class VhdOracleTests(BlockImageDisk disk) : IClassFixture<BlockImageDisk>
{
    public static TheoryData<string, string> Variants => new()
    {
        { "dynamic", "subformat=dynamic" },
        { "dynamic-force-size", "subformat=dynamic,force_size=on" },
        { "fixed", "subformat=fixed" },
        { "fixed-force-size", "subformat=fixed,force_size=on" },
    };

    public static TheoryData<string, bool> DynamicOptions => new() { { "subformat=dynamic", true }, { "subformat=dynamic,force_size=on", false } };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Random_access_output_equals_qemu_img(string name, string options)
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", name + ".vhd", options);
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(qemu.Length, result.VirtualSize);
        Assert.Equal(["vpc"], result.FormatChain);
        Assert.True(result.RandomAccess);
        Assert.Equal(0, result.ScratchBytes);
        Assert.True(ExternalTool.AllocatedBytes(work.File("ours.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("ours.raw"))} > qemu {qemu.Allocated}");
    }

    [Theory]
    [MemberData(nameof(DynamicOptions))]
    public void A_dynamic_vhd_read_forward_equals_qemu_img_and_keeps_nothing(string options, bool alsoGzipped)
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "disk.vhd", options);
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var streamed = Run.Checked(Run.StreamToFile, image, work.File("streamed.raw"));

        // The two variants differ only in their footers: one trip through a decompressor is enough.
        var gzipped = alsoGzipped ? Run.Checked(Run.FileToFile, VhdTestImages.Gzip(image), work.File("gzipped.raw")) : streamed;

        Assert.Equal(qemu.Sha256, streamed.Sha256);
        Assert.Equal(qemu.Sha256, gzipped.Sha256);
        Assert.False(streamed.RandomAccess);
        Assert.False(gzipped.RandomAccess);
        Assert.Equal(["vpc"], streamed.FormatChain);
        Assert.Equal("vpc", gzipped.FormatChain[^1]);
        Assert.Equal(0, streamed.ScratchBytes + gzipped.ScratchBytes);
        Assert.Equal(0, streamed.KeptBytes + gzipped.KeptBytes);
        Assert.Equal(new FileInfo(image).Length, streamed.BytesRead);
    }

    [Fact]
    public void Qemu_sizes_its_own_vhd_by_chs_geometry_and_a_force_size_one_by_current_size()
    {
        using var work = new TemporaryDirectory();
        var chs = VhdTestImages.Make(disk.Path, work, "vpc", "chs.vhd", "subformat=dynamic");
        var exact = VhdTestImages.Make(disk.Path, work, "vpc", "exact.vhd", "subformat=dynamic,force_size=on");

        using var chsImage = LocalImages.Open(chs);
        using var exactImage = LocalImages.Open(exact);

        Assert.Equal(VhdTestImages.QemuVirtualSize(chs, "vpc"), chsImage.Details.VirtualSize);
        Assert.Equal(VhdTestImages.QemuVirtualSize(exact, "vpc"), exactImage.Details.VirtualSize);
        Assert.Equal(BlockImageDisk.Size, exactImage.Details.VirtualSize);
        Assert.NotEqual(BlockImageDisk.Size, chsImage.Details.VirtualSize);
        Assert.Equal("dynamic", chsImage.Details.Subformat);
        Assert.Equal("vpc", chsImage.Details.Format);
        Assert.Equal(2 << 20, chsImage.Details.ClusterSize);
    }

    [Fact]
    public void A_fixed_vhd_read_with_random_access_leaves_its_footer_out_and_says_so()
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "fixed.vhd", "subformat=fixed,force_size=on");

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"));
        using var opened = LocalImages.Open(image);

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.Equal(new FileInfo(image).Length - 512, result.VirtualSize);
        Assert.Equal("fixed", opened.Details.Subformat);
        Assert.Contains(opened.Details.Notes, n => n.Contains("footer", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fixed_vhd_read_forward_stays_raw_footer_included_as_qemu_img_probes_it()
    {
        // Forward-only, the footer is only known once it has been written as disk data, so the
        // file is what qemu-img and CDI probe it as: raw, 512 bytes longer than the disk.
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "fixed.vhd", "subformat=fixed,force_size=on");
        var probedAsRaw = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.StreamToFile, image, work.File("ours.raw"));
        var output = File.ReadAllBytes(work.File("ours.raw"));

        Assert.Equal(probedAsRaw.Sha256, result.Sha256);
        Assert.Equal(["raw"], result.FormatChain);
        Assert.Equal(new FileInfo(image).Length, result.VirtualSize);
        Assert.Equal("conectix"u8.ToArray(), output[^512..^504]);
    }

    [Fact]
    public void A_fixed_vhd_checked_against_its_file_checksum_gives_the_same_disk_as_random_access()
    {
        // The checksum reads the file forward to hash it, but the footer is found first.
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "fixed.vhd", "subformat=fixed,force_size=on");
        var options = new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(DiskContent.Sha256(image), null) };

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"), options);

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.Equal(["vpc"], result.FormatChain);
        Assert.False(result.RandomAccess);
        Assert.Contains(result.Notes, n => n.Contains("footer", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fixed_vhd_whose_checksum_is_wrong_is_refused_and_leaves_nothing()
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "fixed.vhd", "subformat=fixed,force_size=on");
        var options = new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(new string('0', 64), null) };

        Assert.ThrowsAny<ImageException>(() => Run.FileToFile(image, work.File("ours.raw"), options));

        Assert.False(File.Exists(work.File("ours.raw")));
    }

    [Fact]
    public void A_file_ending_in_a_damaged_fixed_footer_stays_raw()
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vpc", "fixed.vhd", "subformat=fixed");
        var length = new FileInfo(image).Length;
        VhdTestImages.Patch(image, length - 512 + 40, [0x12]);

        var result = Run.FileToFile(image, work.File("ours.raw"));

        Assert.Equal(["raw"], result.FormatChain);
        Assert.Equal(length, result.VirtualSize);
    }

    [Fact]
    public void Sparse_vhd_blocks_become_holes_and_are_not_read()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("sparse.vhd");
        ExternalTool.Run("qemu-img", "create", "-f", "vpc", image, "100M");
        VhdTestImages.QemuIo(image, "vpc", "write -P 0x5a 50M 1M");
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));

        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.InRange(ExternalTool.AllocatedBytes(work.File("random.raw")), 1 << 20, 2 << 20);
        Assert.True(random.BytesRead < 4 << 20, $"read {random.BytesRead}");
    }

    [Fact]
    public void A_clear_sector_bitmap_bit_does_not_hide_the_sector_as_qemu_reads_it()
    {
        // qemu 7.2 never consults the bitmap when reading: a present block is its bytes.
        using var work = new TemporaryDirectory();
        var image = work.File("bitmap.vhd");
        ExternalTool.Run("qemu-img", "create", "-f", "vpc", image, "8M");
        VhdTestImages.QemuIo(image, "vpc", "write -P 0x6b 0 2M");
        var tableAt = (long)VhdTestImages.ReadBigEndian32(image, 512 + 20);
        var bitmapAt = VhdTestImages.ReadBigEndian32(image, tableAt) * 512L;
        Assert.Equal(uint.MaxValue, VhdTestImages.ReadBigEndian32(image, bitmapAt));
        VhdTestImages.Patch(image, bitmapAt, new byte[512]);
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));

        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.Equal(2L << 20, ExternalTool.AllocatedBytes(work.File("random.raw")));
    }

    [Fact]
    public void A_vhd_in_an_uncompressed_tar_is_read_with_random_access()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk.vhd");
        ExternalTool.Run("qemu-img", "create", "-f", "vpc", image, "24M");
        VhdTestImages.QemuIo(image, "vpc", "write -P 0x42 4M 3M");
        ExternalTool.RunIn(work.Path, "tar", "cf", "disk.tar", "disk.vhd");
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var result = Run.Checked(Run.FileToFile, work.File("disk.tar"), work.File("ours.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.True(result.RandomAccess);
        Assert.Equal("vpc", result.FormatChain[^1]);
        Assert.True(result.BytesRead < new FileInfo(work.File("disk.tar")).Length);
    }

    [Fact]
    public void Blocks_stored_out_of_guest_order_are_kept_and_spill_past_the_memory_budget()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("reversed.vhd");
        ExternalTool.Run("qemu-img", "create", "-f", "vpc", image, "32M");

        // Each first write to a block appends it to the file, so the last guest block comes first.
        VhdTestImages.QemuIo(image, "vpc", "write -P 0xcc 20M 2M", "write -P 0xbb 10M 2M", "write -P 0xaa 0 2M");
        var qemu = Qemu.ConvertToRaw(image, work.Path, "vpc");

        var result = Run.Checked(Run.StreamToFile, image, work.File("ours.raw"), new ImageOpenOptions { MemoryBudget = 1 << 20 });

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.True(result.ScratchBytes > 0);
        Assert.True(result.KeptBytes >= 4 << 20, $"kept {result.KeptBytes}");
        Assert.Equal(["ours.raw"], work.Files().Where(f => f.StartsWith("ours", StringComparison.Ordinal)));
    }
}
