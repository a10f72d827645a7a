using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// The VHDs of the public image corpus: each converts to the hash its README records for
/// qemu-img 7.2 or is refused with a stable id where qemu refuses it (or, for a differencing
/// disk, converts it without its parent).
/// </summary>
public sealed class VhdCorpusTests
{
    [Fact]
    public void The_ext2_vhd_converts_to_qemu_img_hash_at_its_chs_rounded_size()
    {
        using var work = new TemporaryDirectory();
        var file = VhdTestImages.Corpus("dfvfs/ext2.vhd");

        var random = Run.Checked(Run.FileToFile, file, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, file, work.File("forward.raw"));

        Assert.Equal("870be7ae16c1fa8faab05c6eb9205dc9a7ae35c5f552c5cf8a267c0bc6a5cb99", random.Sha256);
        Assert.Equal(random.Sha256, forward.Sha256);
        Assert.Equal(4212736, random.VirtualSize);
        Assert.Equal(["vpc"], random.FormatChain);
        Assert.Equal(0, forward.KeptBytes);
    }

    [Fact]
    public void The_disk2vhd_image_is_sized_by_current_size_and_converts_to_qemu_img_hash()
    {
        using var work = new TemporaryDirectory();
        var file = VhdTestImages.Bunzip("qemu-iotests-sample_images/d2v-zerofilled.vhd.bz2", work);

        var random = Run.FileToFile(file, work.File("random.raw"));
        File.Delete(work.File("random.raw"));
        var forward = Run.StreamToFile(file, work.File("forward.raw"));

        Assert.Equal("1ba076be94a8a64541c25aae8d5a5f8b0da758c3797af597e03acb431ff8d143", random.Sha256);
        Assert.Equal(random.Sha256, forward.Sha256);
        Assert.Equal(VhdTestImages.QemuVirtualSize(file, "vpc"), random.VirtualSize);
        Assert.Equal(0, forward.ScratchBytes);
    }

    [Theory]
    [InlineData("qemu-iotests-sample_images/hyperv2012r2-dynamic.vhd.bz2")]
    [InlineData("qemu-iotests-sample_images/virtualpc-dynamic.vhd.bz2")]
    public void A_127_GiB_empty_vhd_has_qemu_img_size_and_converts_to_nothing_but_zeros_without_reading_them(string corpusFile)
    {
        // Hyper-V writes "win " (current size), Virtual PC "vpc " (CHS geometry): the two sizes differ.
        using var work = new TemporaryDirectory();
        var file = VhdTestImages.Bunzip(corpusFile, work);

        var result = VhdTestImages.ConvertToNull(file, out var sink);

        Assert.Equal(VhdTestImages.QemuVirtualSize(file, "vpc"), result.VirtualSize);
        Assert.Equal(result.VirtualSize, sink.Length);
        Assert.Equal(VhdTestImages.QemuDataBytes(file, "vpc"), sink.AllocatedBytes);
        Assert.True(result.BytesRead <= new FileInfo(file).Length);
        Assert.True(result.VirtualSize > 127L << 30 - 1);
    }

    [Fact]
    public void The_fuzzed_vhd_with_a_billion_table_entries_is_refused_before_allocating()
    {
        using var work = new TemporaryDirectory();
        var file = VhdTestImages.Bunzip("qemu-iotests-sample_images/afl5.img.bz2", work);

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(file, work.File("out.raw")));

        Assert.Equal("VhdTableTooLarge", error.ErrorId);
        Assert.Contains("1,073,741,825", error.Message);
        Assert.DoesNotContain("out.raw", work.Files());
    }

    [Theory]
    [InlineData("dfvfs/image.vhd")]
    [InlineData("dfvfs/image-differential.vhd")]
    public void A_vhd_qemu_rejects_for_its_checksum_is_refused(string corpusFile)
    {
        using var work = new TemporaryDirectory();

        var random = Assert.Throws<ImageException>(() => Run.FileToFile(VhdTestImages.Corpus(corpusFile), work.File("random.raw")));
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(VhdTestImages.Corpus(corpusFile), work.File("forward.raw")));

        Assert.Equal("VhdFooterChecksumMismatch", random.ErrorId);
        Assert.Equal("VhdFooterChecksumMismatch", forward.ErrorId);
        Assert.Empty(work.Files());
    }

    [Fact]
    public void The_differencing_vhd_is_refused_naming_its_parent()
    {
        using var work = new TemporaryDirectory();
        var file = VhdTestImages.Corpus("dfvfs/fat-differential.vhd");

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(file, work.File("out.raw")));
        using var opened = LocalImages.Open(file);

        Assert.Equal("VhdDifferencingNotSupported", error.ErrorId);
        Assert.Contains("fat-parent.vhd", error.Message);
        Assert.True(error.IsUnsupported);
        Assert.EndsWith("\\fat-parent.vhd", opened.Details.BackingFile);
        Assert.Empty(work.Files());
    }
}
