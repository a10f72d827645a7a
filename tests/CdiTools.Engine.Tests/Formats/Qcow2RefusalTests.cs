using System.Buffers.Binary;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Broken and unsupported qcow2 images: each refusal has its stable id, in both reading modes,
/// and leaves no output behind. Images are made small by qemu-img, then damaged.
/// </summary>
public sealed class Qcow2RefusalTests
{
    private static string Make(TemporaryDirectory work, string options = "", params string[] io)
    {
        var image = work.File("image.qcow2");
        var arguments = new List<string> { "create", "-f", "qcow2" };
        if (options.Length > 0)
        {
            arguments.AddRange(["-o", options]);
        }

        arguments.AddRange([image, "4M"]);
        ExternalTool.Run("qemu-img", [.. arguments]);
        Qemu.Io(image, io.Length > 0 ? io : ["write -P 0x61 0 192k", "write -P 0x62 3M 64k"]);
        return image;
    }

    private static void Patch(string image, long offset, Action<byte[]> change, int length = 8)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        change(bytes);
        file.Position = offset;
        file.Write(bytes);
    }

    private static void PatchU32(string image, long offset, uint value) => Patch(image, offset, b => BinaryPrimitives.WriteUInt32BigEndian(b, value), 4);

    private static void PatchU64(string image, long offset, ulong value) => Patch(image, offset, b => BinaryPrimitives.WriteUInt64BigEndian(b, value));

    private static ulong ReadU64(string image, long offset)
    {
        using var file = File.OpenRead(image);
        var bytes = new byte[8];
        file.Position = offset;
        file.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    /// <summary>
    /// Both reading modes must refuse with <paramref name="errorId"/> and leave only the image in
    /// the folder. Reading forward, the file's length is not known up front, so a table beyond
    /// its end shows as the end coming too soon.
    /// </summary>
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

    private static long L1Offset(string image) => (long)ReadU64(image, 40);

    private static long FirstL2Offset(string image) => (long)(ReadU64(image, L1Offset(image)) & 0x00FF_FFFF_FFFF_FE00UL);

    [Theory]
    [InlineData(4, 1u, "Qcow2UnsupportedVersion")]
    [InlineData(4, 4u, "Qcow2UnsupportedVersion")]
    [InlineData(20, 8u, "Qcow2ClusterBitsOutOfRange")]
    [InlineData(20, 22u, "Qcow2ClusterBitsOutOfRange")]
    [InlineData(100, 100u, "Qcow2HeaderLengthInvalid")]
    [InlineData(100, 108u, "Qcow2HeaderLengthInvalid")]
    [InlineData(100, 0x20000u, "Qcow2HeaderLengthInvalid")]
    [InlineData(96, 7u, "Qcow2RefcountOrderInvalid")]
    [InlineData(56, 0u, "Qcow2RefcountTableInvalid")]
    [InlineData(60, 65537u, "Qcow2SnapshotTableInvalid")]
    [InlineData(36, 0u, "Qcow2L1TooSmall")]
    public void A_header_field_out_of_range_is_refused(int offset, uint value, string errorId)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU32(image, offset, value);

        var error = Refused(work, image, errorId);

        Assert.Equal(offset, error.Offset);
    }

    [Theory]
    [InlineData(40, 0x30001UL, "Qcow2L1TableInvalid", null)]
    [InlineData(40, 0x7FFF0000UL, "Qcow2L1TableInvalid", "Qcow2OffsetBeyondEndOfFile")]
    [InlineData(48, 0x10200UL, "Qcow2RefcountTableInvalid", null)]
    [InlineData(24, 1UL << 50, "Qcow2L1TooSmall", null)]
    [InlineData(8, 0x20000UL, "Qcow2BackingFileOffsetInvalid", null)]
    public void A_table_offset_or_size_out_of_range_is_refused(int offset, ulong value, string errorId, string? forwardErrorId)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU64(image, offset, value);

        Refused(work, image, errorId, forwardErrorId);
    }

    [Fact]
    public void An_unknown_incompatible_feature_is_refused_by_the_name_in_the_feature_table()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        // qemu-img writes a feature name table; rename the entry for incompatible bit 0 to bit 9.
        var header = File.ReadAllBytes(image).AsSpan(0, 4096).ToArray();
        var entry = header.AsSpan().IndexOf("dirty bit"u8) - 2;
        Assert.True(entry > 104, "qemu-img wrote no feature name table");
        Patch(image, entry + 1, b => b[0] = 9, 1);
        PatchU64(image, 72, 1UL << 9);

        var error = Refused(work, image, "Qcow2UnsupportedFeature");

        Assert.Contains("dirty bit (bit 9)", error.Message);
    }

    [Fact]
    public void A_compression_type_without_its_feature_bit_and_an_unknown_type_are_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        Patch(image, 104, b => b[0] = 1, 1);
        Refused(work, image, "Qcow2CompressionTypeMismatch");

        PatchU64(image, 72, 1UL << 3);
        Patch(image, 104, b => b[0] = 2, 1);
        Refused(work, image, "Qcow2CompressionTypeInvalid");
    }

    [Fact]
    public void Extended_l2_with_clusters_below_16_KiB_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, "cluster_size=4096");
        PatchU64(image, 72, 1UL << 4);

        Refused(work, image, "Qcow2SubclusterTooSmall");
    }

    [Fact]
    public void Encryption_and_external_data_files_are_refused_naming_what_they_are()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        PatchU32(image, 32, 2);
        Assert.Contains("LUKS", Refused(work, image, "Qcow2EncryptionNotSupported").Message);

        using var work2 = new TemporaryDirectory();
        var withData = work2.File("image.qcow2");
        ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-o", "data_file=" + work2.File("image.data"), withData, "4M");
        var error = Assert.Throws<ImageException>(() => Run.FileToFile(withData, work2.File("out.raw")));
        Assert.Equal("Qcow2ExternalDataFileNotSupported", error.ErrorId);
        Assert.Contains("image.data", error.Message);
    }

    [Fact]
    public void A_backing_file_is_refused_naming_it()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        var overlay = work.File("overlay.qcow2");
        ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay);
        File.Move(image, work.File("base-moved.qcow2"));

        var error = Refused(work, overlay, "Qcow2BackingFileNotSupported");

        Assert.Contains(image, error.Message);
        Assert.Contains("(qcow2)", error.Message);

        // Found when the image is opened, so it can still be described.
        using var opened = LocalImages.Open(overlay);
        Assert.Equal(image, opened.Details.BackingFile);
        Assert.Equal("Qcow2BackingFileNotSupported", opened.Driver.Refusal?.ErrorId);
    }

    [Theory]
    [InlineData(1UL << 56, "Qcow2L1ReservedBits")]
    [InlineData(0x100UL, "Qcow2L1ReservedBits")]
    [InlineData(0x1000UL, "Qcow2L2OffsetMisaligned")]
    [InlineData(0x40000000UL, "Qcow2OffsetBeyondEndOfFile")]
    public void A_bad_l1_entry_is_refused(ulong value, string errorId)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        var l1 = L1Offset(image);
        var entry = ReadU64(image, l1);
        PatchU64(image, l1, value is 0x1000UL or 0x40000000UL ? value : entry | value);

        Refused(work, image, errorId);
    }

    [Theory]
    [InlineData(1UL << 57, "Qcow2L2ReservedBits")]
    [InlineData(1UL << 3, "Qcow2L2ReservedBits")]
    [InlineData(1UL << 12, "Qcow2DataOffsetMisaligned")]
    public void A_bad_l2_entry_is_refused(ulong bit, string errorId)
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        var l2 = FirstL2Offset(image);
        PatchU64(image, l2, ReadU64(image, l2) | bit);

        Refused(work, image, errorId);
    }

    [Fact]
    public void A_data_cluster_beyond_the_end_of_the_file_is_refused_where_qemu_reads_zeros()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work);
        var l2 = FirstL2Offset(image);
        PatchU64(image, l2, (1UL << 63) | 0x4000_0000UL);

        var error = Refused(work, image, "Qcow2OffsetBeyondEndOfFile");

        Assert.Equal(l2, error.Offset);
        Assert.Equal("Qcow2OffsetBeyondEndOfFile", Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("x.raw"))).ErrorId);
    }

    [Fact]
    public void A_zero_flag_in_a_version_2_image_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, "compat=0.10");
        var l2 = FirstL2Offset(image);
        PatchU64(image, l2, ReadU64(image, l2) | 1);

        Refused(work, image, "Qcow2ZeroFlagInV2");
    }

    [Fact]
    public void A_subcluster_both_allocated_and_zero_is_refused()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, "extended_l2=on", "write -P 0x61 0 4k");
        var l2 = FirstL2Offset(image);
        PatchU64(image, l2 + 8, ReadU64(image, l2 + 8) | (1UL << 32));

        Refused(work, image, "Qcow2SubclusterBitmapInvalid");
    }

    [Fact]
    public void A_truncated_image_is_refused_at_every_cut_in_both_modes_and_leaves_nothing()
    {
        using var work = new TemporaryDirectory();
        var image = Make(work, "", "write -P 0x61 0 192k", "write -c -P 0x62 1M 64k", "write -P 0x63 3M 64k");
        var whole = File.ReadAllBytes(image);
        // Fewer than 4 bytes are not recognisably qcow2 any more: they are a (tiny) raw image.
        var cuts = new List<int> { 4, 40, 71, 103, 200, 0x10000, 0x10008, 0x20000, 0x30004 };
        for (var cut = 0x40000; cut < whole.Length; cut += 0x7000)
        {
            cuts.Add(cut);
        }

        cuts.Add(whole.Length - 1);
        var cutImage = work.File("cut.qcow2");
        foreach (var cut in cuts)
        {
            File.WriteAllBytes(cutImage, whole[..cut]);
            foreach (var convert in new Func<string, string, ImageOpenOptions?, ImportResult>[] { Run.FileToFile, Run.StreamToFile })
            {
                var error = Record.Exception(() => convert(cutImage, work.File("out.raw"), null));
                Assert.True(error is ImageException, $"cut at {cut}: {error?.GetType().Name ?? "no error"} {error?.Message}");
                Assert.False(File.Exists(work.File("out.raw")), $"cut at {cut} left output");
            }
        }

        Assert.Equal(["cut.qcow2", "image.qcow2"], work.Files());
    }
}
