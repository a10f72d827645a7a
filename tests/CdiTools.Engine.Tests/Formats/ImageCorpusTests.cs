using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// The public fixtures of tests/data/image-corpus: each qcow2, raw or wrapped image gives the
/// result its README records for qemu-img 7.2, or a clear refusal where qemu reads past the end
/// as zeros or where the format is not converted yet.
/// </summary>
public sealed class ImageCorpusTests
{
    private static string Corpus(string relative) => Path.Combine(RepositoryPaths.ImageCorpus, relative);

    [Theory]
    [InlineData("cdi/fs-overhead.qcow2", "f2e7d09dcc87cf4a8f96989d6479bdf5545cf0c84f9d5ea4cee4c6d099cdae6d")]
    [InlineData("cdi/invalid_qcow_images/invalid-qcow-large-json.img", "076a27c79e5ace2a3d47f9dd2e83e4ff6ea8872b3c2218f66c92b89b55f36560")]
    [InlineData("vasi-qcow2-rs/test.qcow2", "a3ffecd2207bd29b9d1b4c59fc4ff68f24c9242b62b3a813417cb7d0c670e3fc")]
    [InlineData("dfvfs/ext2.qcow2", "a6c2f0e39afe6c6ab432ca5465349fcefe8dc944398e97b2d957d3f89dbb5d80")]
    [InlineData("dfvfs/windows_volume.qcow2", "44abe9deca9658f331a2bdba2deb53192d04f35d157a1fb3ba0597b03f0524f2")]
    public void A_corpus_qcow2_converts_to_the_hash_qemu_img_gives(string file, string sha256)
    {
        using var work = new TemporaryDirectory();

        var random = Run.Checked(Run.FileToFile, Corpus(file), work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, Corpus(file), work.File("forward.raw"));

        Assert.Equal(sha256, random.Sha256);
        Assert.Equal(sha256, forward.Sha256);
        Assert.Equal(["qcow2"], random.FormatChain);
    }

    [Fact]
    public void The_sparse_819_MiB_cdi_image_reads_a_fraction_of_its_size_and_allocates_almost_nothing()
    {
        using var work = new TemporaryDirectory();

        var result = Run.FileToFile(Corpus("cdi/fs-overhead.qcow2"), work.File("out.raw"));

        Assert.Equal(858993664, result.VirtualSize);
        Assert.True(result.BytesRead <= new FileInfo(Corpus("cdi/fs-overhead.qcow2")).Length);
        Assert.True(ExternalTool.AllocatedBytes(work.File("out.raw")) < 1 << 20);
    }

    [Theory]
    [InlineData("cdi/cirros-snapshot1.qcow2", "cirros.raw")]
    [InlineData("cdi/cirros-snapshot2.qcow2", "cirros-snapshot1.qcow2")]
    public void A_corpus_overlay_is_refused_naming_its_backing_file(string file, string backing)
    {
        using var work = new TemporaryDirectory();

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(Corpus(file), work.File("out.raw")));

        Assert.Equal("Qcow2BackingFileNotSupported", error.ErrorId);
        Assert.Contains(backing, error.Message);
        Assert.Empty(work.Files());
    }

    [Fact]
    public void The_qcow_version_1_image_with_a_152_TiB_disk_is_refused()
    {
        using var work = new TemporaryDirectory();

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(Corpus("cdi/invalid_qcow_images/invalid-qcow-large-size.img"), work.File("out.raw")));

        Assert.Equal("Qcow2UnsupportedVersion", error.ErrorId);
        Assert.Empty(work.Files());
    }

    [Fact]
    public void A_header_cut_off_inside_its_extensions_is_refused_where_qemu_reads_zeros_past_the_end()
    {
        using var work = new TemporaryDirectory();

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(Corpus("libqcow/file_header.1"), work.File("out.raw")));

        Assert.StartsWith("Qcow2", error.ErrorId);
        Assert.Empty(work.Files());
    }

    [Theory]
    [InlineData("empty.bochs", "bochs")]
    [InlineData("parallels-v1", "parallels")]
    [InlineData("parallels-v2", "parallels")]
    [InlineData("simple-pattern.cloop", "cloop")]
    [InlineData("simple-dmg.dmg", "dmg")]
    public void Formats_qemu_reads_but_cdi_does_not_import_are_refused_by_name_not_taken_as_raw(string file, string format)
    {
        using var work = new TemporaryDirectory();
        var image = work.File(file);
        ExternalTool.Shell($"bzip2 -dc '{Corpus($"qemu-iotests-sample_images/{file}.bz2")}' > '{image}'");

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("out.raw")));

        Assert.Equal("UnsupportedImageFormat", error.ErrorId);
        Assert.Contains($"is {format},", error.Message);
        Assert.Equal([file], work.Files());
    }

    [Fact]
    public void A_dmg_checked_against_its_file_checksum_is_refused_too_though_the_file_is_read_forward()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("simple-dmg.dmg");
        ExternalTool.Shell($"bzip2 -dc '{Corpus("qemu-iotests-sample_images/simple-dmg.dmg.bz2")}' > '{image}'");
        var options = new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(DiskContent.Sha256(image), null) };

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("out.raw"), options));

        Assert.Equal("UnsupportedImageFormat", error.ErrorId);
        Assert.Contains("is dmg,", error.Message);
    }

    [Fact]
    public void The_grub_mbr_converts_like_qemu_img_once_unpacked_from_bzip2()
    {
        using var work = new TemporaryDirectory();
        ExternalTool.Shell($"bzip2 -dc '{Corpus("qemu-iotests-sample_images/grub_mbr.raw.bz2")}' > '{work.File("mbr.raw")}'");

        var result = Run.FileToFile(work.File("mbr.raw"), work.File("out.raw"));

        Assert.Equal("3cc502da6ecbbb8ae090212ed77ee5aadf942d2c26897753f871cdfc23e359b6", result.Sha256);
    }

    [Theory]
    [InlineData("dfvfs/syslog.gz", "gzip")]
    public void A_small_wrapped_payload_is_its_bytes_padded_to_512(string file, string layer)
    {
        using var work = new TemporaryDirectory();
        ExternalTool.Shell($"gzip -dc '{Corpus(file)}' > '{work.File("payload")}'");
        var payload = File.ReadAllBytes(work.File("payload"));

        var result = Run.FileToFile(Corpus(file), work.File("out.raw"));
        var output = File.ReadAllBytes(work.File("out.raw"));

        Assert.StartsWith(layer, result.FormatChain[0]);
        Assert.Equal("raw", result.FormatChain[1]);
        Assert.Equal(1247, payload.Length);
        Assert.Equal(1536, output.Length);
        Assert.Equal(payload, output[..payload.Length]);
        Assert.All(output[payload.Length..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_truncated_gzip_is_refused_and_leaves_nothing()
    {
        using var work = new TemporaryDirectory();

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(Corpus("dfvfs/corrupt1.gz"), work.File("out.raw")));

        Assert.Equal("GzipTruncated", error.ErrorId);
        Assert.Empty(work.Files());
    }
}
