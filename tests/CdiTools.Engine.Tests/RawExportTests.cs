using System.IO.Compression;
using System.Security.Cryptography;
using CdiTools.Engine;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests;

/// <summary>The raw disk as one ordered stream, gzip compressed, as an upload body: the same disk qemu-img converts to, and nothing whole-looking after a failure.</summary>
public sealed class RawExportTests
{
    private static string Sha256(Stream stream) => Convert.ToHexStringLower(SHA256.HashData(stream));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_qcow2_in_xz_streams_out_as_qemu_img_s_raw(bool gzip)
    {
        using var work = new TemporaryDirectory();
        var raw = work.File("disk.raw");
        DiskContent.WriteMixed(raw, 16L << 20);
        var qcow2 = work.File("disk.qcow2");
        ExternalTool.Run("qemu-img", "convert", "-c", "-O", "qcow2", raw, qcow2);
        ExternalTool.Run("xz", "-k", "-T1", qcow2);
        var expected = Qemu.ConvertToRaw(qcow2, work.Path);

        using var body = new MemoryStream();
        var result = await RawExport.ToStreamAsync(ImageLocation.File(qcow2 + ".xz"), body, gzip, new ImageOpenOptions(), null, default);

        body.Position = 0;
        using var content = gzip ? new GZipStream(body, CompressionMode.Decompress) : (Stream)body;
        Assert.Equal(expected.Sha256, Sha256(content));
        Assert.Equal(16L << 20, result.VirtualSize);
        Assert.StartsWith("xz", result.FormatChain[0]);
        Assert.Equal("qcow2", result.FormatChain[1]);
        if (gzip)
        {
            Assert.True(body.Length < 10L << 20, $"{body.Length} bytes: the zero runs should shrink to almost nothing.");
        }
    }

    [Fact]
    public async Task A_failure_midway_leaves_no_complete_gzip_member()
    {
        using var work = new TemporaryDirectory();
        var raw = work.File("disk.raw");
        DiskContent.WriteMixed(raw, 64L << 20);
        var qcow2 = work.File("disk.qcow2");
        ExternalTool.Run("qemu-img", "convert", "-O", "qcow2", raw, qcow2);
        var truncated = work.File("cut.qcow2");
        var bytes = File.ReadAllBytes(qcow2);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length * 2 / 3)]);
        ExternalTool.Run("gzip", "-k", truncated);

        using var body = new MemoryStream();
        await Assert.ThrowsAsync<ImageException>(() => RawExport.ToStreamAsync(ImageLocation.File(truncated + ".gz"), body, gzip: true, new ImageOpenOptions(), null, default));

        // gzip itself is the judge: System.IO.Compression does not notice a missing trailer.
        var sent = work.File("sent.gz");
        File.WriteAllBytes(sent, body.ToArray());
        Assert.True(body.Length > 0);
        var refusal = Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("gzip", "-t", sent));
        Assert.Contains("unexpected end of file", refusal.Message);
    }
}
