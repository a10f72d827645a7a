using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>Raw images, plain and wrapped in gzip, zstd and tar, and qcow2 inside wrappers.</summary>
public sealed class RawAndWrapperTests(MixedDisk disk) : IClassFixture<MixedDisk>
{
    [Fact]
    public void A_raw_file_converts_to_an_identical_sparse_file()
    {
        using var work = new TemporaryDirectory();

        var result = Run.Checked(Run.FileToFile, disk.Path, work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.Equal(["raw"], result.FormatChain);
        Assert.True(result.AllocatedBytes < MixedDisk.Size * 3 / 4, "zero blocks must become holes");
        Assert.True(ExternalTool.AllocatedBytes(work.File("out.raw")) <= ExternalTool.AllocatedBytes(disk.Path));
    }

    [Fact]
    public void Telling_a_raw_file_from_a_fixed_vhd_is_not_counted_as_reading_it()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("data.raw");
        File.WriteAllBytes(image, Enumerable.Range(0, 1 << 20).Select(i => (byte)(i % 253 + 1)).ToArray());

        var result = Run.FileToFile(image, work.File("out.raw"));

        Assert.Equal(1 << 20, result.BytesRead);
    }

    [Fact]
    public void A_raw_size_that_is_not_a_multiple_of_512_is_padded_with_zeros_as_qemu_does()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("odd.raw");
        File.WriteAllBytes(image, Enumerable.Range(0, 540).Select(i => (byte)(i % 251 + 1)).ToArray());
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.FileToFile, image, work.File("out.raw"));

        Assert.Equal(1024, result.VirtualSize);
        Assert.Equal(qemu.Sha256, result.Sha256);
    }

    [Theory]
    [InlineData("xz -c -T1 -0", "xz (liblzma")]
    [InlineData("gzip -c -1", "gzip")]
    [InlineData("zstd -q -c -3", "zstd")]
    [InlineData("zstd -q -c --long=31 -1", "zstd")]
    public void A_compressed_raw_image_converts_forward(string compress, string layer)
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk.raw.z");
        ExternalTool.Shell($"{compress} '{disk.Path}' > '{image}'");

        var result = Run.Checked(Run.FileToFile, image, work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.StartsWith(layer, result.FormatChain[0]);
        Assert.Equal("raw", result.FormatChain[1]);
        Assert.False(result.RandomAccess);
        Assert.Equal(new FileInfo(image).Length, result.BytesRead);
    }

    [Fact]
    public void Gzip_with_several_members_and_zstd_with_several_and_skippable_frames_decode_whole()
    {
        using var work = new TemporaryDirectory();
        var half = MixedDisk.Size / 2;
        ExternalTool.Shell($"head -c {half} '{disk.Path}' > '{work.File("a")}' && tail -c +{half + 1} '{disk.Path}' > '{work.File("b")}'");
        ExternalTool.Shell($"gzip -c '{work.File("a")}' > '{work.File("d.gz")}' && gzip -c '{work.File("b")}' >> '{work.File("d.gz")}'");
        ExternalTool.Shell($"zstd -q -c '{work.File("a")}' > '{work.File("d.zst")}'");
        // A skippable frame (magic 0x184D2A5E, 8 bytes of payload) between the two data frames.
        File.AppendAllBytes(work.File("d.zst"), [0x5E, 0x2A, 0x4D, 0x18, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        ExternalTool.Shell($"zstd -q -c '{work.File("b")}' >> '{work.File("d.zst")}'");

        Assert.Equal(disk.Sha256, Run.FileToFile(work.File("d.gz"), work.File("gz.raw")).Sha256);
        Assert.Equal(disk.Sha256, Run.FileToFile(work.File("d.zst"), work.File("zst.raw")).Sha256);
    }

    [Theory]
    [InlineData("gzip -c", "gzip")]
    [InlineData("zstd -q -c", "zstd")]
    [InlineData("xz -c -T1 -1", "xz (liblzma")]
    public void A_compressed_qcow2_converts_forward_like_qemu_img(string compress, string layer)
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make("v3", disk.Path, work);
        var wrapped = qcow2 + ".z";
        ExternalTool.Shell($"{compress} '{qcow2}' > '{wrapped}'");

        var result = Run.Checked(Run.FileToFile, wrapped, work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.StartsWith(layer, result.FormatChain[0]);
        Assert.Equal("qcow2", result.FormatChain[1]);
        Assert.Equal(0, result.ScratchBytes);
    }

    [Theory]
    [InlineData("gzip -c", "gzip (System.IO.Compression)", "deflate")]
    [InlineData("zstd -q -c", "zstd (ZstdSharp)", "zstd")]
    [InlineData("xz -c -T1 -1", "xz (managed)", "deflate")]
    public void The_managed_decoders_give_the_same_disk_as_the_native_ones(string compress, string layer, string variant)
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make(variant, disk.Path, work);
        var wrapped = qcow2 + ".z";
        ExternalTool.Shell($"{compress} '{qcow2}' > '{wrapped}'");
        var managed = new ImageOpenOptions { PreferNativeDecoders = false };

        var forward = Run.Checked(Run.FileToFile, wrapped, work.File("forward.raw"), managed);
        var random = Run.Checked(Run.FileToFile, qcow2, work.File("random.raw"), managed);

        Assert.Equal([layer, "qcow2"], forward.FormatChain);
        Assert.Equal(disk.Sha256, forward.Sha256);
        Assert.Equal(disk.Sha256, random.Sha256);
    }

    [Fact]
    public void A_qcow2_in_a_gzip_in_a_tar_converts()
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make("deflate", disk.Path, work);
        Directory.CreateDirectory(work.File("disk"));
        ExternalTool.Shell($"gzip -c '{qcow2}' > '{work.File("disk/disk.qcow2.gz")}' && echo readme > '{work.File("README")}'");
        ExternalTool.RunIn(work.Path, "tar", "cf", "image.tar", "README", "disk/disk.qcow2.gz");

        var random = Run.Checked(Run.FileToFile, work.File("image.tar"), work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, work.File("image.tar"), work.File("forward.raw"));

        Assert.Equal(disk.Sha256, random.Sha256);
        Assert.Equal(disk.Sha256, forward.Sha256);
        Assert.StartsWith("tar (disk/disk.qcow2.gz", random.FormatChain[0]);
        Assert.StartsWith("gzip (zlib ", random.FormatChain[1]);
        Assert.Equal("qcow2", random.FormatChain[2]);
        Assert.Equal("disk/disk.qcow2.gz: the only file under disk/", random.TarMember);
    }

    [Fact]
    public void A_qcow2_in_xz_in_a_tar_converts_in_one_forward_pass()
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make("zstd", disk.Path, work);
        ExternalTool.Shell($"xz -c -T1 -0 '{qcow2}' > '{work.File("disk.qcow2.xz")}'");
        ExternalTool.RunIn(work.Path, "tar", "cf", "image.tar", "disk.qcow2.xz");

        var result = Run.Checked(Run.FileToFile, work.File("image.tar"), work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.Equal(3, result.FormatChain.Count);
        Assert.StartsWith("xz (liblzma", result.FormatChain[1]);
        Assert.Equal(0, result.ScratchBytes);
    }

    [Fact]
    public void A_qcow2_in_an_uncompressed_tar_file_is_read_with_random_access()
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make("v3", disk.Path, work);
        ExternalTool.RunIn(work.Path, "tar", "cf", "image.tar", Path.GetFileName(qcow2));

        var result = Run.Checked(Run.FileToFile, work.File("image.tar"), work.File("out.raw"));

        Assert.Equal(disk.Sha256, result.Sha256);
        Assert.True(result.RandomAccess);
        Assert.True(result.BytesRead < new FileInfo(work.File("image.tar")).Length, "random access reads only what the disk needs");
    }

    [Fact]
    public void An_expected_checksum_of_the_input_is_checked_in_the_same_pass()
    {
        using var work = new TemporaryDirectory();
        var qcow2 = Qcow2Variants.Make("v3", disk.Path, work);
        var sha = DiskContent.Sha256(qcow2);

        var good = Run.FileToFile(qcow2, work.File("good.raw"), new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(sha.ToUpperInvariant(), null) });
        var error = Assert.Throws<ImageException>(() => Run.FileToFile(qcow2, work.File("bad.raw"), new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(new string('0', 64), null) }));

        Assert.Equal(disk.Sha256, good.Sha256);
        Assert.False(good.RandomAccess);
        Assert.Equal("ChecksumMismatch", error.ErrorId);
        Assert.Contains(sha, error.Message);
        Assert.DoesNotContain("bad.raw", work.Files());
    }
}
