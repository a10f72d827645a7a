using System.Security.Cryptography;
using CdiTools.Engine.Layers.Xz;

namespace CdiTools.Engine.Tests.Layers.Xz;

/// <summary>Valid .xz layers decode to exactly what xz compressed, through liblzma and through the managed decoder.</summary>
[Collection(XzTestSet.Name)]
public sealed class XzDecodeTests(XzFiles files)
{
    private static readonly byte[] PayloadA = XzFiles.Mixed(1 << 20, seed: 1);
    private static readonly byte[] PayloadB = XzFiles.Mixed((1 << 19) + 12345, seed: 2);

    public static TheoryData<bool> Decoders => new() { true, false };

    public static TheoryData<bool, string> DecodersAndChecks
    {
        get
        {
            var data = new TheoryData<bool, string>();
            foreach (var native in new[] { true, false })
            {
                foreach (var check in new[] { "none", "crc32", "crc64", "sha256" })
                {
                    data.Add(native, check);
                }
            }

            return data;
        }
    }

    [Fact]
    public void NativeLiblzmaIsAvailableHere()
    {
        Assert.True(XzLayer.IsNativeAvailable, "liblzma.so.5 should load on this machine and in CI.");
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void SingleStreamDecodes(bool native)
    {
        var xz = files.Compress("a", PayloadA);
        Assert.Equal((1, 1), (files.List(xz).Streams, files.List(xz).Blocks));

        Assert.Equal(PayloadA, XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ConcatenatedStreamsDecodeAsOne(bool native)
    {
        byte[] xz = [.. files.Compress("a", PayloadA), .. files.Compress("b", PayloadB)];
        Assert.Equal(2, files.List(xz).Streams);

        Assert.Equal([.. PayloadA, .. PayloadB], XzFiles.Decode(xz, native));
    }

    [Theory]
    [InlineData(true, 4, 8)]
    [InlineData(false, 4, 8)]
    [InlineData(true, 0, 4)]
    [InlineData(false, 0, 4)]
    [InlineData(true, 12, 0)]
    [InlineData(false, 12, 0)]
    public void StreamPaddingBetweenAndAfterStreamsIsSkipped(bool native, int between, int after)
    {
        byte[] xz = [.. files.Compress("a", PayloadA), .. new byte[between], .. files.Compress("b", PayloadB), .. new byte[after]];

        Assert.Equal([.. PayloadA, .. PayloadB], XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ManyBlocksDecode(bool native)
    {
        var xz = files.Compress("blocks", PayloadA, "--block-size=64KiB");
        Assert.Equal(16, files.List(xz).Blocks);

        Assert.Equal(PayloadA, XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void BlocksOfMultithreadedXzCarryTheirSizesAndDecode(bool native)
    {
        // Multithreaded xz writes compressed and uncompressed sizes into each block header.
        var xz = files.Compress("mt", PayloadA, "-T2", "--block-size=200KiB");
        Assert.Equal(6, files.List(xz).Blocks);

        Assert.Equal(PayloadA, XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(DecodersAndChecks))]
    public void EachCheckTypeDecodes(bool native, string check)
    {
        var xz = files.Compress("check-" + check, PayloadB, "--check=" + check, "--block-size=100KiB");
        Assert.Equal(check == "none" ? "None" : check.ToUpperInvariant().Replace("SHA256", "SHA-256"), files.List(xz).Check);

        Assert.Equal(PayloadB, XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void CompressedEmptyFileDecodesToNothing(bool native)
    {
        var xz = files.Compress("empty", []);
        Assert.Equal(32, xz.Length);

        using var stream = XzFiles.Open(new MemoryStream(xz), native);
        Assert.Equal(0, stream.Read(new byte[16], 0, 16));
        Assert.Equal(-1, stream.ReadByte());
    }

    [Theory]
    [InlineData(true, "--x86")]
    [InlineData(false, "--x86")]
    [InlineData(true, "--arm")]
    [InlineData(false, "--arm")]
    public void BranchFilterBeforeLzma2Decodes(bool native, string filter)
    {
        var xz = files.Compress("bcj" + filter, PayloadB, filter, "--lzma2=preset=6");

        Assert.Equal(PayloadB, XzFiles.Decode(xz, native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void InputArrivingAFewBytesAtATimeDecodes(bool native)
    {
        byte[] xz = [.. files.Compress("blocks", PayloadA, "--block-size=64KiB"), 0, 0, 0, 0, .. files.Compress("b", PayloadB)];

        Assert.Equal([.. PayloadA, .. PayloadB], XzFiles.Decode(new TrickleStream(xz, 7), native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void TinyReadsGiveTheSameBytes(bool native)
    {
        var xz = files.Compress("blocks", PayloadA, "--block-size=64KiB");

        Assert.Equal(PayloadA, XzFiles.Decode(xz, native, readSize: 3));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ReadingAfterTheEndKeepsReturningZero(bool native)
    {
        using var stream = XzFiles.Open(new MemoryStream(files.Compress("b", PayloadB)), native);
        stream.CopyTo(Stream.Null);

        Assert.Equal(PayloadB.Length, stream.Position);
        Assert.Equal(0, stream.Read(new byte[100], 0, 100));
        Assert.Equal(0, stream.Read(new byte[100], 0, 100));
        Assert.Equal(-1, stream.ReadByte());
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void TheStreamIsForwardOnlyAndReadOnly(bool native)
    {
        using var stream = XzFiles.Open(new MemoryStream(files.Compress("b", PayloadB)), native);

        Assert.True(stream.CanRead);
        Assert.False(stream.CanSeek);
        Assert.False(stream.CanWrite);
        Assert.Throws<NotSupportedException>(() => stream.Length);
        Assert.Throws<NotSupportedException>(() => stream.Seek(0, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => stream.Write([1], 0, 1));
    }

    [Fact]
    public void BothDecodersAgreeWithXzOnA64MiBMixedPayload()
    {
        var payload = Path.Combine(files.Root, "big.bin");
        var compressed = payload + ".xz";
        XzFiles.WriteMixed(payload, 64L << 20, seed: 3);
        XzFiles.RunXz(["-T2", "-3", "-c", payload], compressed);
        File.Delete(payload);
        var expected = XzFiles.RunXz(["-dc", compressed], null);

        foreach (var native in new[] { true, false })
        {
            using var stream = XzFiles.Open(File.OpenRead(compressed), native);
            Assert.Equal(Convert.ToHexString(expected!), Convert.ToHexString(SHA256.HashData(stream)));
            Assert.Equal(64L << 20, stream.Position);
        }

        File.Delete(compressed);
    }

    /// <summary>Hands out at most a few bytes per read, as a slow network stream might.</summary>
    private sealed class TrickleStream(byte[] data, int most) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, most));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, most)]);
    }
}
