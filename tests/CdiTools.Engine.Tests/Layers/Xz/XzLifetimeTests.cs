using System.Runtime.InteropServices;
using CdiTools.Engine.Layers.Xz;

namespace CdiTools.Engine.Tests.Layers.Xz;

/// <summary>Who frees what: the decoders release liblzma's state and the compressed stream once, whatever happened.</summary>
[Collection(XzTestSet.Name)]
public sealed class XzLifetimeTests(XzFiles files)
{
    private static readonly byte[] Payload = XzFiles.Mixed(300_000, seed: 5);

    public static TheoryData<bool> Decoders => new() { true, false };

    [Fact]
    public void LzmaStreamHasLiblzmasLayout()
    {
        Assert.Equal(8, IntPtr.Size);
        Assert.Equal(136, Marshal.SizeOf<LzmaStream>());
        Assert.Equal(8, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.AvailIn)));
        Assert.Equal(16, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.TotalIn)));
        Assert.Equal(24, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.NextOut)));
        Assert.Equal(40, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.TotalOut)));
        Assert.Equal(56, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.Internal)));
        Assert.Equal(96, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.SeekPos)));
        Assert.Equal(128, (int)Marshal.OffsetOf<LzmaStream>(nameof(LzmaStream.ReservedEnum1)));
    }

    [Fact]
    public void DisposingReleasesTheLiblzmaDecoderOnce()
    {
        var before = LzmaStreamHandle.Live;
        var stream = XzFiles.Open(new MemoryStream(files.Compress("lifetime", Payload)), native: true);
        Assert.Equal(Payload[0], stream.ReadByte());
        Assert.Equal(before + 1, LzmaStreamHandle.Live);

        stream.Dispose();
        stream.Dispose();

        Assert.Equal(before, LzmaStreamHandle.Live);
    }

    [Fact]
    public void DisposingAfterADecodingErrorStillReleasesTheLiblzmaDecoder()
    {
        var before = LzmaStreamHandle.Live;
        var xz = files.Compress("lifetime", Payload);
        var stream = XzFiles.Open(new MemoryStream(xz[..(xz.Length / 2)]), native: true);
        Assert.Throws<ImageException>(() => stream.CopyTo(Stream.Null));
        Assert.Equal(before + 1, LzmaStreamHandle.Live);

        stream.Dispose();

        Assert.Equal(before, LzmaStreamHandle.Live);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void DisposingDisposesTheCompressedStream(bool native)
    {
        var compressed = new WatchedStream(files.Compress("lifetime", Payload));
        var stream = XzFiles.Open(compressed, native);
        stream.ReadByte();

        stream.Dispose();

        Assert.Equal(1, compressed.Disposals);
        Assert.False(stream.CanRead);
        Assert.Throws<ObjectDisposedException>(() => stream.Read(new byte[10], 0, 10));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void DisposingBeforeReadingAnythingIsFine(bool native)
    {
        var before = LzmaStreamHandle.Live;
        var compressed = new WatchedStream(files.Compress("lifetime", Payload));

        XzFiles.Open(compressed, native).Dispose();

        Assert.Equal(1, compressed.Disposals);
        Assert.Equal(before, LzmaStreamHandle.Live);
    }

    private sealed class WatchedStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public int Disposals { get; private set; }

        protected override void Dispose(bool disposing)
        {
            Disposals++;
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void TheThreadedDecoderOptionsMatchLiblzmasLayout()
    {
        // lzma_mt in lzma/container.h: memlimit_threading follows four 32-bit reserved ints.
        Assert.Equal(128, Marshal.SizeOf<LzmaMt>());
        Assert.Equal(64, (int)Marshal.OffsetOf<LzmaMt>(nameof(LzmaMt.MemlimitThreading)));
        Assert.Equal(72, (int)Marshal.OffsetOf<LzmaMt>(nameof(LzmaMt.MemlimitStop)));
        Assert.True(LibLzma.HasThreadedDecoder, "liblzma 5.4 and later decode multi-block files on several threads");
    }
}
