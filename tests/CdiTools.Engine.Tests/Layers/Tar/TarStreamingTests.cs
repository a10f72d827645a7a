using System.Diagnostics;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Sources;
using Xunit.Abstractions;
using static CdiTools.Engine.Tests.Layers.Tar.TarTestIo;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>The member as a stream: it owns the tar, passes reads straight through, and holds no data.</summary>
public sealed class TarStreamingTests(ITestOutputHelper output)
{
    [Fact]
    public void Disposing_the_member_disposes_the_random_access_tar()
    {
        var source = new MemorySource([.. TarBlocks.Header("disk.img", 5, '0'), .. TarBlocks.Padded([1, 2, 3, 4, 5]), .. TarBlocks.End]);
        var (member, _) = TarLayer.Open(LayerInput.FromRandom(source));

        Assert.False(source.Disposed);
        member.Dispose();
        Assert.True(source.Disposed);
    }

    [Fact]
    public void Disposing_the_member_disposes_the_forward_tar()
    {
        var stream = new ForwardOnlyStream(new MemoryStream([.. TarBlocks.Header("disk.img", 5, '0'), .. TarBlocks.Padded([1, 2, 3, 4, 5]), .. TarBlocks.End]));
        var (member, _) = TarLayer.Open(LayerInput.FromStream(stream));

        Assert.False(stream.Disposed);
        member.Dispose();
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void Forward_reading_to_the_end_consumes_the_whole_tar_stream()
    {
        // What follows the end-of-archive blocks is read too, so a decompressor beneath gets to check its trailer.
        var inner = new MemoryStream([.. TarBlocks.Header("disk.img", 5, '0'), .. TarBlocks.Padded([1, 2, 3, 4, 5]), .. TarBlocks.End, .. new byte[9000]]);
        var (member, _) = TarLayer.Open(LayerInput.FromStream(new ForwardOnlyStream(inner)));
        using (member)
        {
            var copy = new MemoryStream();
            member.Forward!.CopyTo(copy);
            Assert.Equal([1, 2, 3, 4, 5], copy.ToArray());
            Assert.Equal(inner.Length, inner.Position);
        }
    }

    [Fact]
    public void A_forward_read_goes_straight_into_the_callers_buffer()
    {
        const int size = 4 << 20;
        var (member, _) = TarLayer.Open(LayerInput.FromStream(new SyntheticTar(size)));
        using (member)
        {
            var buffer = new byte[1 << 20];
            Assert.Equal(buffer.Length, member.Forward!.Read(buffer));
            Assert.Equal(SyntheticTar.ByteAt(0), buffer[0]);
            Assert.Equal(SyntheticTar.ByteAt(buffer.Length - 1), buffer[^1]);
        }
    }

    [Fact]
    public void A_contiguous_member_streams_near_copy_speed_without_allocating()
    {
        const long size = 1L << 30;
        var buffer = new byte[1 << 20];

        var raw = Stopwatch.StartNew();
        using (var source = new SyntheticTar(size))
        {
            while (source.Read(buffer) > 0)
            {
            }
        }

        raw.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var through = Stopwatch.StartNew();
        long total = 0;
        var (member, choice) = TarLayer.Open(LayerInput.FromStream(new SyntheticTar(size)));
        using (member)
        {
            int read;
            while ((read = member.Forward!.Read(buffer)) > 0)
            {
                total += read;
            }
        }

        through.Stop();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var rawRate = size / raw.Elapsed.TotalSeconds / 1e6;
        var throughRate = size / through.Elapsed.TotalSeconds / 1e6;
        output.WriteLine($"source alone {rawRate:N0} MB/s; through the tar layer {throughRate:N0} MB/s; {allocated:N0} bytes allocated");

        Assert.Equal(size, total);
        Assert.Equal(size, choice.Size);
        Assert.True(allocated < 256 << 10, $"{allocated:N0} bytes allocated");

        // Generous, as tests run side by side; a per-read copy or small internal buffer would still fall below it.
        Assert.True(throughRate > rawRate / 3, $"{throughRate:N0} MB/s against {rawRate:N0} MB/s");
    }

    /// <summary>A forward-only tar of one member, "disk.raw", made up on the fly: each read is one copy from a pattern.</summary>
    private sealed class SyntheticTar(long size) : CdiTools.Engine.Sources.ForwardReadStream
    {
        private static readonly byte[] Pattern = [.. Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 31 / 7))];
        private readonly byte[] header = TarBlocks.Header("disk.raw", size, '0');
        private readonly long length = 512 + size + ((512 - (size % 512)) % 512) + 1024;
        private long position;

        public static byte ByteAt(long offset) => Pattern[offset % Pattern.Length];

        public override int Read(Span<byte> buffer)
        {
            if (position < 512)
            {
                var count = Math.Min(buffer.Length, 512 - (int)position);
                header.AsSpan((int)position, count).CopyTo(buffer);
                position += count;
                return count;
            }

            if (position < 512 + size)
            {
                var at = (int)((position - 512) % Pattern.Length);
                var count = (int)Math.Min(Math.Min(buffer.Length, Pattern.Length - at), 512 + size - position);
                Pattern.AsSpan(at, count).CopyTo(buffer);
                position += count;
                return count;
            }

            var zeros = (int)Math.Min(buffer.Length, length - position);
            buffer[..zeros].Clear();
            position += zeros;
            return zeros;
        }

    }
}
