using CdiTools.Engine.Sources.Http;
using CdiTools.Testing;
using CdiTools.Testing.Http;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Whole imports from an HTTP server on loopback: with ranges a qcow2 is read without downloading
/// its unallocated space; without them it streams through once; either way the disk equals qemu-img's.
/// </summary>
public sealed class HttpImportTests
{
    private static string SparseQcow2(TemporaryDirectory work)
    {
        var image = work.File("sparse.qcow2");
        ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "1G");
        Qemu.Io(image, "write -P 0x41 0 1M", "write -P 0x42 512M 1M", "write -c -P 0x43 900M 64k");

        // Fill a stretch of the file that no cluster maps, as an image rewritten in place would have.
        using (var file = new FileStream(image, FileMode.Append))
        {
            file.Write(new byte[8 << 20].Select((_, i) => (byte)(i * 31)).ToArray());
        }

        return image;
    }

    [Fact]
    public async Task With_ranges_a_qcow2_is_read_without_downloading_what_no_cluster_maps()
    {
        using var work = new TemporaryDirectory();
        var image = SparseQcow2(work);
        var qemu = Qemu.ConvertToRaw(image, work.Path);
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("/disk.qcow2", image);

        var result = await LocalImport.ToFileAsync(
            ImageLocation.Url(server.UriFor("/disk.qcow2")), work.File("out.raw"), new ImageOpenOptions(), overwrite: false, computeSha256: true, progress: null, CancellationToken.None);

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.True(result.RandomAccess);
        Assert.True(server.BodyBytesSent < new FileInfo(image).Length / 2, $"sent {server.BodyBytesSent} of {new FileInfo(image).Length}");
    }

    [Fact]
    public async Task Without_ranges_a_compressed_qcow2_streams_through_once()
    {
        using var work = new TemporaryDirectory();
        var image = SparseQcow2(work);
        var qemu = Qemu.ConvertToRaw(image, work.Path);
        ExternalTool.Shell($"zstd -q -c '{image}' > '{image}.zst'");
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Ignore;
        server.AddFile("/disk.qcow2.zst", image + ".zst");

        var result = await LocalImport.ToFileAsync(
            ImageLocation.Url(server.UriFor("/disk.qcow2.zst")), work.File("out.raw"), new ImageOpenOptions(), overwrite: false, computeSha256: true, progress: null, CancellationToken.None);

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.False(result.RandomAccess);
        Assert.Equal(0, result.ScratchBytes);
        Assert.Equal(new FileInfo(image + ".zst").Length, result.BytesRead);
    }

    [Fact]
    public async Task A_failed_download_leaves_no_output()
    {
        using var work = new TemporaryDirectory();
        var image = SparseQcow2(work);
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Ignore;
        server.AddFile("/disk.qcow2", image);
        server.CloseAfterBodyBytes(3 << 20);

        var error = await Assert.ThrowsAsync<ImageException>(() => LocalImport.ToFileAsync(
            ImageLocation.Url(server.UriFor("/disk.qcow2"), new HttpSourceOptions { RetryCount = 0 }), work.File("out.raw"), new ImageOpenOptions(), overwrite: false, computeSha256: false, progress: null, CancellationToken.None));

        Assert.Equal("HttpTruncated", error.ErrorId);
        Assert.DoesNotContain(work.Files(), f => f.StartsWith("out.raw", StringComparison.Ordinal) || f.EndsWith(".partial", StringComparison.Ordinal));
    }
}
