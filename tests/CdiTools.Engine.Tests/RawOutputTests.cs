using CdiTools.Engine.Sinks;

namespace CdiTools.Engine.Tests;

/// <summary>The ordered output every driver writes through: holes, limits, hashing.</summary>
public sealed class RawOutputTests
{
    /// <summary>Records what reaches the sink, to check which ranges are written and which are left as holes.</summary>
    private sealed class RecordingSink : IRawSink
    {
        public List<(long Offset, int Length)> Data { get; } = [];

        public long ZeroBytes { get; private set; }

        public long? CompletedLength { get; private set; }

        public long AllocatedBytes => Data.Sum(d => (long)d.Length);

        public void WriteData(long offset, ReadOnlySpan<byte> data) => Data.Add((offset, data.Length));

        public void WriteZeros(long offset, long length) => ZeroBytes += length;

        public void Complete(long length) => CompletedLength = length;

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Only_4_KiB_blocks_with_data_are_written_whatever_the_write_pattern()
    {
        var sink = new RecordingSink();
        using (var output = new RawOutput(sink, limit: null, computeSha256: false, progress: null, CancellationToken.None))
        {
            output.Write(new byte[100]);
            output.Write([1]);
            output.WriteZeros(10_000);
            output.Write(new byte[5000]);
            output.WriteZeros(3L << 30);
            var data = new byte[8192];
            data[8191] = 7;
            output.Write(data);
            output.Finish();
        }

        var lastByte = (3L << 30) + 100 + 1 + 10_000 + 5000 + 8191;
        var blocksWritten = sink.Data
            .SelectMany(d => Enumerable.Range(0, (int)((d.Offset + d.Length - 1) / 4096 - d.Offset / 4096 + 1)).Select(i => d.Offset / 4096 + i))
            .Distinct()
            .Order();
        Assert.Equal([0L, lastByte / 4096], blocksWritten);
        Assert.Equal((3L << 30) + 100 + 1 + 10_000 + 5000 + 8192, sink.CompletedLength);
        Assert.True(sink.AllocatedBytes <= 8192);
    }

    [Fact]
    public void Writing_past_the_virtual_size_is_refused_never_a_longer_disk()
    {
        var sink = new RecordingSink();
        using var output = new RawOutput(sink, limit: 1 << 20, computeSha256: false, progress: null, CancellationToken.None);
        output.WriteZeros(1 << 20);

        var error = Assert.Throws<ImageException>(() => output.Write([1]));

        Assert.Equal("OutputBeyondVirtualSize", error.ErrorId);
        Assert.Null(sink.CompletedLength);
    }

    [Fact]
    public void The_hash_covers_zeros_and_data_as_one_disk()
    {
        var sink = new RecordingSink();
        var disk = new byte[(3 << 20) + 123];
        disk[10] = 1;
        disk[^1] = 2;
        using var output = new RawOutput(sink, limit: null, computeSha256: true, progress: null, CancellationToken.None);
        output.Write(disk.AsSpan(0, 11));
        output.WriteZeros(disk.Length - 12);
        output.Write(disk.AsSpan(disk.Length - 1));
        output.Finish();

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(disk)), output.Sha256);
    }

    [Fact]
    public void A_failing_sink_fails_the_producer_with_its_error()
    {
        using var output = new RawOutput(new FailingSink(), limit: null, computeSha256: false, progress: null, CancellationToken.None);

        var error = Assert.ThrowsAny<IOException>(() =>
        {
            for (var i = 0; i < 64; i++)
            {
                output.Write(Enumerable.Repeat((byte)1, 1 << 20).ToArray());
            }

            output.Finish();
        });

        Assert.Equal("disk full", error.Message);
    }

    private sealed class FailingSink : IRawSink
    {
        public long AllocatedBytes => 0;

        public void WriteData(long offset, ReadOnlySpan<byte> data) => throw new IOException("disk full");

        public void WriteZeros(long offset, long length)
        {
        }

        public void Complete(long length)
        {
        }

        public void Dispose()
        {
        }
    }
}
