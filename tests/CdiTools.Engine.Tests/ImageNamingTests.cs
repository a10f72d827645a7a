using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests;

/// <summary>A file name that says another format than the bytes is warned about; an image with no disk is refused.</summary>
public sealed class ImageNamingTests
{
    [Theory]
    [InlineData("disk.qcow2.xz", new[] { "xz", "qcow2" })]
    [InlineData("disk.tar.gz", new[] { "gzip", "tar" })]
    [InlineData("disk.tgz", new[] { "gzip", "tar" })]
    [InlineData("Fedora.VMDK", new[] { "vmdk" })]
    [InlineData("cirros.img", new string[0])]
    [InlineData("notes", new string[0])]
    public void A_name_claims_its_layers_outermost_first(string name, string[] layers) =>
        Assert.Equal(layers, ImageNaming.ClaimedLayers(name));

    [Theory]
    [InlineData("disk.qcow2", new[] { "qcow2" })]
    [InlineData("disk.qcow2.xz", new[] { "xz (liblzma 5.4.1)", "qcow2" })]
    [InlineData("cirros.img", new[] { "qcow2" })]
    [InlineData("disk.vhd", new[] { "vpc" })]
    [InlineData("root.tar.gz", new[] { "gzip (zlib 1.2.13)", "tar", "qcow2" })]
    public void A_name_that_agrees_or_claims_nothing_gets_no_warning(string name, string[] chain) =>
        Assert.Null(ImageNaming.Contradiction(name, chain));

    [Theory]
    [InlineData("disk.qcow2", new[] { "raw" }, "named like a qcow2, but it is a raw")]
    [InlineData("disk.qcow2.xz", new[] { "qcow2" }, "named like an xz, but it is a qcow2")]
    [InlineData("disk.qcow2.xz", new[] { "xz (liblzma 5.4.1)", "raw" }, "named like a qcow2 inside xz, but that layer is a raw")]
    [InlineData("disk.vmdk", new[] { "qcow2" }, "named like a vmdk, but it is a qcow2")]
    public void A_name_that_says_otherwise_is_warned_about(string name, string[] chain, string says)
    {
        Assert.Contains(says, ImageNaming.Contradiction(name, chain));
    }

    [Fact]
    public async Task An_error_page_saved_as_a_qcow2_converts_as_raw_with_a_warning_that_says_so()
    {
        using var work = new TemporaryDirectory();
        var page = work.File("Fedora-Cloud.qcow2");
        File.WriteAllText(page, "<!DOCTYPE html><html><body>404 Not Found</body></html>");

        var result = await LocalImport.ToFileAsync(ImageLocation.File(page), work.File("out.raw"), new ImageOpenOptions(), overwrite: false, computeSha256: false, progress: null, CancellationToken.None);

        var warning = Assert.Single(result.Warnings);
        Assert.Contains("'Fedora-Cloud.qcow2' is named like a qcow2, but it is a raw", warning);
        Assert.Contains("error page", warning);
    }

    [Theory]
    [InlineData("")]
    [InlineData("xz")]
    [InlineData("qcow2")]
    public void An_image_that_holds_no_disk_is_refused_and_leaves_nothing(string kind)
    {
        using var work = new TemporaryDirectory();
        var image = work.File("empty.img");
        File.WriteAllBytes(image, []);
        if (kind == "xz")
        {
            ExternalTool.Run("xz", "-z", image);
            image += ".xz";
        }
        else if (kind == "qcow2")
        {
            File.Delete(image);
            ExternalTool.Run("qemu-img", "create", "-q", "-f", "qcow2", image, "0");
        }

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("out.raw")));

        Assert.Equal("EmptyImage", error.ErrorId);
        Assert.DoesNotContain("out.raw", work.Files());
    }
}
