using CdiTools.Engine.Sources.Registry;
using CdiTools.Testing;
using CdiTools.Testing.Registry;

namespace CdiTools.Engine.Tests.Sources.Registry;

/// <summary>Container disks pulled from a real registry over plain HTTP on loopback, converted and compared with qemu-img's conversion.</summary>
[Collection(RegistryTestSet.Name)]
public sealed class RegistryImportTests(RegistryImages images)
{
    [Theory]
    [InlineData("plain:gzip", "gzip")]
    [InlineData("plain:zstd", "zstd")]
    [InlineData("plain:none", null)]
    [InlineData("plain:docker", "gzip")]
    public async Task ByTag_EachLayerCompression_ConvertsToQemusRaw(string image, string? compression)
    {
        using var output = new TemporaryDirectory();

        var (sha, result) = await RegistryImages.ConvertAsync(images.Location(image), output);

        Assert.Equal(images.ShaA, sha);
        Assert.StartsWith("registry image", result.FormatChain[0], StringComparison.Ordinal);
        Assert.Equal("qcow2", result.FormatChain[^1]);
        Assert.Equal(compression is not null, result.FormatChain.Any(c => c.StartsWith(compression ?? "gzip", StringComparison.Ordinal)));
        Assert.StartsWith("disk/disk.qcow2", result.TarMember, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ByDigest_ConvertsThePinnedManifest()
    {
        using var output = new TemporaryDirectory();
        var location = ImageLocation.Container(ContainerImageReference.Parse($"docker://{images.Registry.Host}/test/plain@{images.PlainGzipManifest.Digest}"), RegistryImages.Options());

        var (sha, result) = await RegistryImages.ConvertAsync(location, output);

        Assert.Equal(images.ShaA, sha);
        Assert.Contains(images.PlainGzipManifest.Digest[..19], result.FormatChain[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownDigest_IsRegistryNotFound()
    {
        var location = ImageLocation.Container(ContainerImageReference.Parse($"docker://{images.Registry.Host}/test/plain@sha256:{new string('0', 64)}"), RegistryImages.Options());

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(location, new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryNotFound", error.ErrorId);
    }

    [Theory]
    [InlineData("plain:missing", "no tag missing in test/plain (MANIFEST_UNKNOWN")]
    [InlineData("nosuchrepo:v1", "test/nosuchrepo")]
    public async Task UnknownTagOrRepository_IsRegistryNotFound(string image, string said)
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(images.Location(image), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryNotFound", error.ErrorId);
        Assert.Contains(said, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linux/amd64", false)]
    [InlineData("linux/arm64", true)]
    [InlineData("arm64", true)]
    [InlineData("linux/arm64/v8", true)]
    public async Task MultiArchIndex_PicksThePlatformAsked(string platform, bool expectB)
    {
        using var output = new TemporaryDirectory();

        var (sha, result) = await RegistryImages.ConvertAsync(images.Location("multi:v1", platform), output);

        Assert.Equal(expectB ? images.ShaB : images.ShaA, sha);
        Assert.Contains(expectB ? "linux/arm64" : "linux/amd64", result.FormatChain[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MultiArchIndex_WithoutPlatform_TakesThisMachines()
    {
        using var output = new TemporaryDirectory();
        if (ImagePlatform.Current.Architecture is not ("amd64" or "arm64"))
        {
            // The index offers amd64 and arm64 only.
            var error = await Assert.ThrowsAsync<ImageException>(() => RegistryImages.ConvertAsync(images.Location("multi:v1"), output));
            Assert.Equal("RegistryPlatformNotFound", error.ErrorId);
            return;
        }

        var (sha, _) = await RegistryImages.ConvertAsync(images.Location("multi:v1"), output);

        Assert.Equal(ImagePlatform.Current.Architecture == "arm64" ? images.ShaB : images.ShaA, sha);
    }

    [Fact]
    public async Task MultiArchIndex_WithoutThePlatform_IsRegistryPlatformNotFound_ListingWhatIsOffered()
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(images.Location("multi:v1", "linux/s390x"), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryPlatformNotFound", error.ErrorId);
        Assert.Contains("linux/amd64", error.Message, StringComparison.Ordinal);
        Assert.Contains("linux/arm64/v8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SinglePlatformImage_ForAnotherPlatformAskedExplicitly_IsRegistryPlatformNotFound()
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(images.Location("plain:gzip", "linux/arm64"), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryPlatformNotFound", error.ErrorId);
        Assert.Contains("linux/amd64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("layers:whiteout", "layer 3 of 3")]
    [InlineData("layers:lower", "layer 1 of 2")]
    [InlineData("layers:opaque", "layer 2 of 2")]
    [InlineData("layers:replaced", "layer 2 of 2")]
    public async Task SeveralLayers_TheMergedDiskFolderDecides(string image, string layer)
    {
        using var output = new TemporaryDirectory();

        var (sha, result) = await RegistryImages.ConvertAsync(images.Location(image), output);

        Assert.Equal(images.ShaA, sha);
        Assert.Contains(layer, result.TarMember, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoVisibleDisks_IsRegistryAmbiguousDisk_AndLeavesNothing()
    {
        using var output = new TemporaryDirectory();

        var error = await Assert.ThrowsAsync<ImageException>(() => RegistryImages.ConvertAsync(images.Location("layers:ambiguous"), output));

        Assert.Equal("RegistryAmbiguousDisk", error.ErrorId);
        Assert.Contains("disk/a.qcow2", error.Message, StringComparison.Ordinal);
        Assert.Contains("disk/b.qcow2", error.Message, StringComparison.Ordinal);
        Assert.Empty(output.Files());
    }

    [Theory]
    [InlineData("nodisk:v1")]
    [InlineData("layers:deleted")]
    public async Task NoFileUnderDisk_IsRegistryNoDisk(string image)
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(images.Location(image), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryNoDisk", error.ErrorId);
    }

    [Theory]
    [InlineData(false, "/etc/passwd")]
    [InlineData(false, "../../etc/passwd")]
    [InlineData(true, "etc/passwd")]
    public async Task ALinkInTheDisksPlace_IsNeverFollowed_AndIsRegistryNoDisk(bool hardLink, string target)
    {
        // The link's target exists in the image too, so neither this machine's file nor the
        // image's may be read through it.
        using var folder = new TemporaryDirectory();
        var layout = new OciLayoutBuilder(folder.File("layout"));
        var link = hardLink ? LayerEntry.HardLink("disk/disk.img", target) : LayerEntry.Symlink("disk/disk.img", target);
        layout.Tag(layout.AddImage([layout.AddLayer([LayerEntry.Directory("etc"), LayerEntry.File("etc/passwd", images.DiskA), LayerEntry.Directory("disk"), link])]), "latest");
        var archive = layout.WriteArchive(folder.File("link.tar"));
        using var output = new TemporaryDirectory();

        var error = await Assert.ThrowsAsync<ImageException>(() => RegistryImages.ConvertAsync(ImageLocation.Container(ContainerImageReference.Parse("oci-archive:" + archive)), output));

        Assert.Equal("RegistryNoDisk", error.ErrorId);
        Assert.Contains(hardLink ? "a hard link" : "a symbolic link", error.Message, StringComparison.Ordinal);
        Assert.Contains("Links are not followed", error.Message, StringComparison.Ordinal);
        Assert.Empty(output.Files());
    }

    [Fact]
    public async Task TamperedLayer_IsRegistryDigestMismatch_AndLeavesNothing()
    {
        // Flip one byte inside the disk's data, so every format check still passes and only the digest can tell.
        var path = images.Registry.BlobDataPath(images.TamperLayer);
        var bytes = await File.ReadAllBytesAsync(path);
        var at = bytes.Length / 2;
        bytes[at] ^= 0x5A;
        await File.WriteAllBytesAsync(path, bytes);
        using var output = new TemporaryDirectory();

        var error = await Assert.ThrowsAsync<ImageException>(() => RegistryImages.ConvertAsync(images.Location("tamper:v1"), output));

        Assert.Equal("RegistryDigestMismatch", error.ErrorId);
        Assert.Contains(images.TamperLayer.Digest, error.Message, StringComparison.Ordinal);
        Assert.Empty(output.Files());
    }

    [Fact]
    public async Task TamperedManifest_IsRegistryDigestMismatch()
    {
        // A registry refuses to serve a manifest whose stored bytes changed; an archive has no such guard.
        using var folder = new TemporaryDirectory();
        var layout = new OciLayoutBuilder(folder.File("layout"));
        var manifest = layout.AddImage([layout.AddLayer(RegistryImages.DiskLayer(images.DiskA))]);
        layout.Tag(manifest, "latest");
        var text = await File.ReadAllTextAsync(layout.BlobPath(manifest));
        await File.WriteAllTextAsync(layout.BlobPath(manifest), text.Replace("\"schemaVersion\":2", "\"schemaVersion\":3", StringComparison.Ordinal));
        var archive = layout.WriteArchive(folder.File("tampered.tar"));

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(ImageLocation.Container(ContainerImageReference.Parse("oci-archive:" + archive)), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryDigestMismatch", error.ErrorId);
        Assert.Contains(manifest.Digest, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LayerOfAnotherMediaType_IsRegistryUnsupportedMediaType()
    {
        using var folder = new TemporaryDirectory();
        var layout = new OciLayoutBuilder(folder.File("layout"));
        var attestation = layout.AddBlob("{}"u8.ToArray(), "application/vnd.in-toto+json");
        layout.Tag(layout.AddImage([attestation]), "latest");
        var archive = layout.WriteArchive(folder.File("odd.tar"));

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(ImageLocation.Container(ContainerImageReference.Parse("oci-archive:" + archive)), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryUnsupportedMediaType", error.ErrorId);
        Assert.Contains("application/vnd.in-toto+json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImageInfo_DescribesTheDiskInside()
    {
        var info = await ImageInspector.InspectAsync(images.Location("plain:gzip"), new ImageOpenOptions(), null, CancellationToken.None);

        Assert.Equal("qcow2", info.Details.Format);
        Assert.Equal(6L << 20, info.VirtualSize);
        Assert.Equal($"docker://{images.Registry.Host}/test/plain:gzip", info.Source);
    }

    [Fact]
    public async Task OciArchive_ConvertsLikeTheRegistry()
    {
        using var folder = new TemporaryDirectory();
        var layout = new OciLayoutBuilder(folder.File("layout"));
        layout.Tag(layout.AddImage([layout.AddLayer(RegistryImages.DiskLayer(images.DiskA), LayerCompression.Zstd)]), "latest");
        var archive = layout.WriteArchive(folder.File("cirros.tar"));
        var location = ImageLocation.Container(ContainerImageReference.Parse("oci-archive:" + archive));
        using var output = new TemporaryDirectory();

        var (sha, result) = await RegistryImages.ConvertAsync(location, output);

        Assert.Equal(images.ShaA, sha);
        Assert.StartsWith("oci-archive image", result.FormatChain[0], StringComparison.Ordinal);
        Assert.Equal("cirros", LocalImport.BaseName(location.Name));
    }

    [Fact]
    public async Task OciArchive_WithAnOversizedIndex_IsRegistryManifestTooLarge()
    {
        using var folder = new TemporaryDirectory();
        var layout = new OciLayoutBuilder(folder.File("layout"));
        layout.Tag(layout.AddImage([layout.AddLayer(RegistryImages.DiskLayer(images.DiskA))]), "latest");
        await File.WriteAllTextAsync(Path.Combine(layout.Directory, "index.json"), "{\"manifests\":[]," + new string(' ', ImageManifest.MaxBytes) + "}");
        var archive = layout.WriteArchive(folder.File("big.tar"));

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(ImageLocation.Container(ContainerImageReference.Parse("oci-archive:" + archive)), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryManifestTooLarge", error.ErrorId);
    }
}
