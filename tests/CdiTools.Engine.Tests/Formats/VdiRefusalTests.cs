using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Damaged and unsupported VDIs, made from one qemu-img image: each refusal has its stable id, with
/// random access and forward, and leaves no output behind.
/// </summary>
public sealed class VdiRefusalTests : IDisposable
{
    private readonly TemporaryDirectory work = new();
    private readonly string image;

    public VdiRefusalTests()
    {
        image = work.File("disk.vdi");
        ExternalTool.Run("qemu-img", "create", "-f", "vdi", image, "8M");
        VhdTestImages.QemuIo(image, "vdi", "write -P 0x11 0 2M", "write -P 0x22 5M 1M");
    }

    public void Dispose() => work.Dispose();

    [Fact]
    public void The_undamaged_image_converts_both_ways_like_qemu_img()
    {
        var random = Run.FileToFile(image, work.File("random.raw"));
        var forward = Run.StreamToFile(image, work.File("forward.raw"));

        Assert.Equal(Qemu.ConvertToRaw(image, work.Path).Sha256, random.Sha256);
        Assert.Equal(random.Sha256, forward.Sha256);
    }

    [Theory]
    [InlineData(0x44, 0x00010000u, "VdiUnsupportedVersion")]
    [InlineData(0x178, 4096u, "VdiUnsupportedBlockSize")]
    [InlineData(0x168, 4096u, "VdiUnsupportedSectorSize")]
    [InlineData(0x154, 0x201u, "VdiBadMapOffset")]
    [InlineData(0x158, 0x1001u, "VdiBadDataOffset")]
    [InlineData(0x180, 2u, "VdiMapTooSmall")]
    [InlineData(0x180, 0x40000000u, "VdiTooManyBlocks")]
    [InlineData(0x1b8, 0x12345678u, "VdiDifferencingNotSupported")]
    [InlineData(0x1a8, 0x12345678u, "VdiLinkedImageNotSupported")]
    public void A_header_field_qemu_or_the_engine_does_not_accept_is_refused(int offset, uint value, string errorId)
    {
        VhdTestImages.PatchLittleEndian32(image, offset, value);

        AssertRefused(errorId);
    }

    [Theory]
    [InlineData(0x1b8, "VdiDifferencingNotSupported")]
    [InlineData(0x1a8, "VdiLinkedImageNotSupported")]
    public void A_differencing_or_linked_image_can_still_be_described(int offset, string errorId)
    {
        VhdTestImages.PatchLittleEndian32(image, offset, 0x12345678u);

        using var opened = LocalImages.Open(image);

        Assert.Equal("vdi", opened.Details.Format);
        Assert.Equal(errorId, opened.Refusal?.ErrorId);
    }

    [Fact]
    public void A_block_map_past_the_end_of_the_file_is_refused()
    {
        VhdTestImages.PatchLittleEndian32(image, 0x154, 0x10000000);

        AssertRefused("VdiOffsetBeyondEndOfFile");
    }

    [Fact]
    public void A_block_past_the_end_of_the_file_is_refused_where_qemu_would_read_zeros()
    {
        VhdTestImages.PatchLittleEndian32(image, 0x200 + 4, 0x00100000);

        AssertRefused("VdiOffsetBeyondEndOfFile");
    }

    [Fact]
    public void A_truncated_image_is_refused_at_open_and_forward_when_its_end_comes()
    {
        using (var file = new FileStream(image, FileMode.Open))
        {
            file.SetLength(file.Length - (512 << 10));
        }

        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var gzipped = Assert.Throws<ImageException>(() => Run.FileToFile(VhdTestImages.Gzip(image), work.File("gzipped.raw")));

        Assert.Equal("VdiOffsetBeyondEndOfFile", random.ErrorId);
        Assert.Equal("VdiOffsetBeyondEndOfFile", gzipped.ErrorId);
        Assert.DoesNotContain(work.Files(), f => f.EndsWith(".raw", StringComparison.Ordinal));
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
