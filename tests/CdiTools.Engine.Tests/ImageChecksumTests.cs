namespace CdiTools.Engine.Tests;

/// <summary>Checksums as people paste them: bare hex, algorithm:hex, and the lines of sha256sum and BSD checksum files.</summary>
public sealed class ImageChecksumTests
{
    private const string Sha256 = "0c8d4e4c5e3e0a1d1d9a3c2a2f5b9e6a0f4e1c7b8a9d0e1f2a3b4c5d6e7f8091";

    [Theory]
    [InlineData(Sha256, "sha256")]
    [InlineData("SHA256:" + Sha256, "sha256")]
    [InlineData("d41d8cd98f00b204e9800998ecf8427e", "md5")]
    [InlineData("md5:D41D8CD98F00B204E9800998ECF8427E", "md5")]
    [InlineData("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1")]
    [InlineData(Sha256 + "  Fedora-Cloud.qcow2", "sha256")]
    [InlineData(Sha256 + " *Fedora-Cloud.qcow2", "sha256")]
    [InlineData("SHA256 (Fedora-Cloud.qcow2) = " + Sha256, "sha256")]
    [InlineData("  sha256:" + Sha256 + "  ", "sha256")]
    public void Every_common_form_gives_the_algorithm_and_the_digest(string text, string algorithm)
    {
        var checksum = ImageChecksum.Parse(text, "/images/Fedora-Cloud.qcow2");

        Assert.Equal(algorithm, checksum.Algorithm);
        Assert.Equal(checksum.Hex.ToLowerInvariant(), checksum.Hex);
        Assert.Equal($"{algorithm}:{checksum.Hex}", checksum.ToString());
    }

    [Fact]
    public void A_sha512_is_told_from_its_length()
    {
        Assert.Equal("sha512", ImageChecksum.Parse(new string('a', 128), null).Algorithm);
    }

    [Theory]
    [InlineData("sha256:abc", "is not a sha256 digest: that is 64 hexadecimal digits")]
    [InlineData("crc32:" + Sha256, "is not a checksum CdiTools reads")]
    [InlineData("12345", "is not a checksum CdiTools reads")]
    [InlineData("sha256:" + "zz" + "0c8d4e4c5e3e0a1d1d9a3c2a2f5b9e6a0f4e1c7b8a9d0e1f2a3b4c5d6e7f80", "is not a sha256 digest")]
    public void Anything_else_is_InvalidChecksum_with_the_forms_it_takes(string text, string says)
    {
        var error = Assert.Throws<ImageException>(() => ImageChecksum.Parse(text, null));

        Assert.Equal("InvalidChecksum", error.ErrorId);
        Assert.Contains(says, error.Message);
    }

    [Theory]
    [InlineData(Sha256 + "  Other.qcow2")]
    [InlineData("SHA256 (Other.qcow2) = " + Sha256)]
    public void A_line_for_another_file_is_refused_naming_both(string text)
    {
        var error = Assert.Throws<ImageException>(() => ImageChecksum.Parse(text, "/images/Fedora-Cloud.qcow2"));

        Assert.Equal("ChecksumForAnotherFile", error.ErrorId);
        Assert.Contains("Other.qcow2", error.Message);
        Assert.Contains("Fedora-Cloud.qcow2", error.Message);
    }

    [Theory]
    [InlineData("md5", "md5sum")]
    [InlineData("sha1", "sha1sum")]
    [InlineData("sha512", "sha512sum")]
    public void Each_algorithm_is_verified_against_the_coreutils_tool_as_the_file_streams(string algorithm, string tool)
    {
        using var work = new CdiTools.Testing.TemporaryDirectory();
        var image = work.File("disk.img");
        File.WriteAllBytes(image, Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray());
        var line = CdiTools.Testing.Images.ExternalTool.Run(tool, image).Trim();

        var good = Support.Run.FileToFile(image, work.File("good.raw"), new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(line, image) });
        var wrong = line[..^(line.Length - line.IndexOf(' '))].Replace(line[0], line[0] == '0' ? '1' : '0');
        var error = Assert.Throws<ImageException>(() => Support.Run.FileToFile(image, work.File("bad.raw"), new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse($"{algorithm}:{wrong}", null) }));

        Assert.Equal(70_144, good.VirtualSize);
        Assert.Equal("ChecksumMismatch", error.ErrorId);
        Assert.Contains($"The {algorithm} of the image file as it is stored", error.Message);
        Assert.DoesNotContain("at offset", error.Message);
        Assert.DoesNotContain("bad.raw", work.Files());
    }
}
