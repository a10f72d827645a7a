using CdiTools.Engine.Sources;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Damaged and unsupported VHDs, made from one qemu-img image: each refusal has its stable id,
/// with random access and forward, and leaves no output behind.
/// </summary>
public sealed class VhdRefusalTests : IDisposable
{
    // qemu-img's dynamic layout: footer copy at 0, dynamic header at 512, BAT at 1536.
    private const long HeaderAt = 512;

    private readonly TemporaryDirectory work = new();
    private readonly string image;

    public VhdRefusalTests()
    {
        ExternalTool.Run("qemu-img", "create", "-f", "vpc", work.File("disk.vhd"), "20M");
        VhdTestImages.QemuIo(work.File("disk.vhd"), "vpc", "write -P 0x11 0 3M", "write -P 0x22 12M 1M");
        image = work.File("disk.vhd");
    }

    public void Dispose() => work.Dispose();

    [Fact]
    public void The_undamaged_image_converts_both_ways()
    {
        var random = Run.FileToFile(image, work.File("random.raw"));
        var forward = Run.StreamToFile(image, work.File("forward.raw"));

        Assert.Equal(Qemu.ConvertToRaw(image, work.Path, "vpc").Sha256, random.Sha256);
        Assert.Equal(random.Sha256, forward.Sha256);
    }

    [Fact]
    public void A_damaged_footer_is_refused_by_its_checksum()
    {
        VhdTestImages.Patch(image, 0x30, [0x7f]);

        AssertRefused("VhdFooterChecksumMismatch");
    }

    [Fact]
    public void A_damaged_dynamic_header_is_refused_by_its_checksum()
    {
        VhdTestImages.Patch(image, HeaderAt + 100, [0x41]);

        AssertRefused("VhdHeaderChecksumMismatch");
    }

    [Fact]
    public void A_table_past_the_end_of_the_file_is_refused()
    {
        VhdTestImages.PatchBigEndian64(image, HeaderAt + 16, 1L << 40);
        VhdTestImages.FixHeaderChecksum(image, HeaderAt);

        AssertRefused("VhdOffsetBeyondEndOfFile");
    }

    [Fact]
    public void A_header_offset_past_the_end_is_refused_forward_without_reading_the_rest_when_the_length_is_known()
    {
        var length = new FileInfo(image).Length;
        VhdTestImages.PatchBigEndian64(image, 16, (ulong)length + (1UL << 30));
        VhdTestImages.FixFooterChecksum(image, 0);
        using var file = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var counted = new CountingStream(file, expected: null);

        var error = Assert.Throws<ImageException>(() => ImageOpener.Open(LayerInput.FromStream(counted, length), new ImageOpenOptions()).Dispose());

        Assert.Equal("VhdOffsetBeyondEndOfFile", error.ErrorId);
        Assert.True(counted.BytesRead <= 4096, $"{counted.BytesRead:N0} of the {length:N0} bytes were read to find that the header lies past the end.");
    }

    [Fact]
    public void A_block_past_the_end_of_the_file_is_refused_where_qemu_would_read_zeros()
    {
        var tableAt = (long)VhdTestImages.ReadBigEndian32(image, HeaderAt + 20);
        VhdTestImages.PatchBigEndian32(image, tableAt + 4, 0x00ffffff);

        AssertRefused("VhdOffsetBeyondEndOfFile");
    }

    [Fact]
    public void A_truncated_image_is_refused_at_open_and_forward_when_its_end_comes()
    {
        using (var file = new FileStream(image, FileMode.Open))
        {
            file.SetLength(file.Length - (1 << 20));
        }

        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var gzipped = Assert.Throws<ImageException>(() => Run.FileToFile(VhdTestImages.Gzip(image), work.File("gzipped.raw")));

        Assert.Equal("VhdOffsetBeyondEndOfFile", random.ErrorId);
        Assert.Equal("VhdOffsetBeyondEndOfFile", gzipped.ErrorId);
        Assert.DoesNotContain("random.raw", work.Files());
        Assert.DoesNotContain("gzipped.raw", work.Files());
    }

    [Theory]
    [InlineData(3000u)]
    [InlineData(256u)]
    [InlineData(64u << 20)]
    public void A_block_size_that_is_not_a_power_of_two_from_512_to_32_MiB_is_refused(uint blockSize)
    {
        VhdTestImages.PatchBigEndian32(image, HeaderAt + 32, blockSize);
        VhdTestImages.FixHeaderChecksum(image, HeaderAt);

        AssertRefused("VhdBlockSizeOutOfRange");
    }

    [Fact]
    public void A_table_too_small_for_the_disk_is_refused()
    {
        VhdTestImages.PatchBigEndian32(image, HeaderAt + 28, 2);
        VhdTestImages.FixHeaderChecksum(image, HeaderAt);

        AssertRefused("VhdTableTooSmall");
    }

    [Fact]
    public void A_differencing_disk_is_refused_naming_its_parent_where_qemu_converts_it_without_the_parent()
    {
        VhdTestImages.PatchBigEndian32(image, 60, 4);
        VhdTestImages.FixFooterChecksum(image, 0);
        VhdTestImages.Patch(image, HeaderAt + 64, System.Text.Encoding.BigEndianUnicode.GetBytes("base-disk.vhd"));
        VhdTestImages.FixHeaderChecksum(image, HeaderAt);

        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal("VhdDifferencingNotSupported", random.ErrorId);
        Assert.Equal("VhdDifferencingNotSupported", forward.ErrorId);
        Assert.Contains("\"base-disk.vhd\"", random.Message);
        Assert.DoesNotContain(work.Files(), f => f.EndsWith(".raw", StringComparison.Ordinal));
        using var opened = LocalImages.Open(image);
        Assert.Equal("base-disk.vhd", opened.Details.BackingFile);
        Assert.Equal("VhdDifferencingNotSupported", opened.Driver.Refusal?.ErrorId);
    }

    [Fact]
    public void A_dynamic_header_without_its_cookie_is_refused()
    {
        VhdTestImages.Patch(image, HeaderAt, "cxspar5e"u8);
        VhdTestImages.FixHeaderChecksum(image, HeaderAt);

        AssertRefused("VhdBadHeaderCookie");
    }

    [Fact]
    public void A_truncated_image_streamed_with_a_known_length_is_refused_before_any_output()
    {
        using (var file = new FileStream(image, FileMode.Open))
        {
            file.SetLength(file.Length - (1 << 20));
        }

        using var stream = File.OpenRead(image);
        var error = Assert.Throws<ImageException>(() => ImageOpener.Open(CdiTools.Engine.Sources.LayerInput.FromStream(stream, stream.Length), new ImageOpenOptions()));

        Assert.Equal("VhdOffsetBeyondEndOfFile", error.ErrorId);
    }

    [Fact]
    public void A_footer_copy_claiming_a_fixed_disk_is_refused()
    {
        VhdTestImages.PatchBigEndian32(image, 60, 2);
        VhdTestImages.FixFooterChecksum(image, 0);

        AssertRefused("VhdUnsupportedDiskType");
    }

    [Fact]
    public void A_table_that_lies_before_the_header_cannot_be_read_forward_but_converts_with_random_access()
    {
        // Move the header behind the table: the same bytes, found through the footer's pointer.
        var header = new byte[1024];
        using (var file = File.OpenRead(image))
        {
            file.Position = HeaderAt;
            file.ReadExactly(header);
        }

        var end = new FileInfo(image).Length;
        VhdTestImages.Patch(image, end, header);
        VhdTestImages.PatchBigEndian64(image, 16, (ulong)end);
        VhdTestImages.FixFooterChecksum(image, 0);

        var random = Run.FileToFile(image, work.File("random.raw"));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal(Qemu.ConvertToRaw(image, work.Path, "vpc").Sha256, random.Sha256);
        Assert.Equal("VhdLayoutNotStreamable", forward.ErrorId);
        Assert.DoesNotContain("forward.raw", work.Files());
    }

    private void AssertRefused(string errorId)
    {
        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal(errorId, random.ErrorId);
        Assert.Equal(errorId, forward.ErrorId);
        Assert.DoesNotContain(work.Files(), f => f.EndsWith(".raw", StringComparison.Ordinal));
    }
}
