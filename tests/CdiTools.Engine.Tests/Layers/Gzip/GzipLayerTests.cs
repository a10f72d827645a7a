using System.Security.Cryptography;
using CdiTools.Engine.Layers.Gzip;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Layers.Gzip;

public sealed class GzipLayerTests
{
    private static byte[] Payload()
    {
        var payload = new byte[3 << 20];
        new Random(5).NextBytes(payload.AsSpan(0, 1 << 20));
        return payload;
    }

    private static byte[] Gzip(TemporaryDirectory work, byte[] payload, string name = "p")
    {
        File.WriteAllBytes(work.File(name), payload);
        ExternalTool.Shell($"gzip -c '{work.File(name)}' > '{work.File(name)}.gz'");
        return File.ReadAllBytes(work.File(name + ".gz"));
    }

    private static byte[] Decode(byte[] gz, bool native, int readSize = 1 << 16)
    {
        using var stream = GzipLayer.Open(new MemoryStream(gz), native);
        using var output = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData(true, 1 << 16)]
    [InlineData(true, 1000)]
    [InlineData(false, 1 << 16)]
    public void Several_members_and_zero_padding_decode_to_the_concatenated_payloads(bool native, int readSize)
    {
        using var work = new TemporaryDirectory();
        var first = Payload();
        var second = "second member\n"u8.ToArray();
        var gz = Gzip(work, first, "a").Concat(Gzip(work, second, "b")).Concat(new byte[512]).ToArray();

        var decoded = Decode(gz, native, readSize);

        Assert.Equal(SHA256.HashData(first.Concat(second).ToArray()), SHA256.HashData(decoded));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(1)]
    public void A_wrong_crc_or_length_in_a_trailer_is_corrupt(int fromEnd)
    {
        using var work = new TemporaryDirectory();
        var gz = Gzip(work, Payload());
        gz[^fromEnd] ^= 0x40;

        var error = Assert.Throws<ImageException>(() => Decode(gz, native: true));

        Assert.Equal("GzipCorrupt", error.ErrorId);
    }

    [Fact]
    public void A_member_cut_anywhere_is_truncated_not_short()
    {
        using var work = new TemporaryDirectory();
        var gz = Gzip(work, Payload());

        foreach (var cut in new[] { 10, 100, gz.Length / 2, gz.Length - 8, gz.Length - 1 })
        {
            var error = Assert.Throws<ImageException>(() => Decode(gz[..cut], native: true));
            Assert.Equal("GzipTruncated", error.ErrorId);
        }
    }

    [Fact]
    public void Garbage_after_a_member_is_corrupt()
    {
        using var work = new TemporaryDirectory();
        var gz = Gzip(work, "x"u8.ToArray()).Concat("not gzip"u8.ToArray()).ToArray();

        Assert.Equal("GzipCorrupt", Assert.Throws<ImageException>(() => Decode(gz, native: true)).ErrorId);
    }
}
