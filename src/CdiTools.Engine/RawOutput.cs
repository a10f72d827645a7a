using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using CdiTools.Engine.Sinks;

namespace CdiTools.Engine;

/// <summary>
/// The raw disk as a driver produces it, strictly in order. Drivers write into staging buffers
/// (<see cref="GetSpan"/>/<see cref="Advance"/>, so decoders can write straight into them) or
/// announce zero runs; full buffers go to a second thread that finds the zero 4 KiB blocks,
/// hashes, and writes to the sink, so decoding and writing overlap on two cores.
/// </summary>
internal sealed class RawOutput : IDisposable
{
    /// <summary>The granule of holes: a 4 KiB block that is all zeros is never written.</summary>
    public const int BlockSize = 4096;

    internal const int BufferSize = 4 << 20;

    // Zero runs at least this long skip the staging buffers and go to the writer as a run.
    private const int ZeroRunThreshold = 256 << 10;

    private static readonly byte[] ZeroBlock = new byte[1 << 20];

    private readonly IRawSink sink;
    private readonly long? limit;
    private readonly BlockingCollection<Chunk> queue = new(boundedCapacity: 4);
    private readonly Thread writer;
    private readonly IncrementalHash? hash;
    private readonly CancellationToken cancellationToken;
    private readonly Action<long>? progress;
    private byte[] buffer;
    private int fill;
    private long position;
    private long pendingZeros;
    private volatile Exception? writerFailure;
    private bool finished;

    /// <param name="sink">Where the disk goes.</param>
    /// <param name="limit">The virtual size when known: writing past it is an error, never a longer disk.</param>
    /// <param name="computeSha256">Hash the whole disk, zeros included.</param>
    /// <param name="progress">Told the number of bytes produced so far, once per buffer.</param>
    public RawOutput(IRawSink sink, long? limit, bool computeSha256, Action<long>? progress, CancellationToken cancellationToken)
    {
        this.sink = sink;
        this.limit = limit;
        this.progress = progress;
        this.cancellationToken = cancellationToken;
        hash = computeSha256 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        writer = new Thread(WriteChunks) { IsBackground = true, Name = "CdiTools raw writer" };
        writer.Start();
    }

    /// <summary>Bytes of the disk produced so far.</summary>
    public long Position => position + pendingZeros;

    /// <summary>The SHA-256 of the disk, lower-case hex, once <see cref="Finish"/> has run with hashing on.</summary>
    public string? Sha256 { get; private set; }

    /// <summary>A span of at least <paramref name="minimum"/> bytes (at most the buffer size) to decode the next bytes into.</summary>
    public Span<byte> GetSpan(int minimum)
    {
        FlushZeros();
        if (BufferSize - fill < minimum)
        {
            Ship();
        }

        return buffer.AsSpan(fill, BufferSize - fill);
    }

    /// <summary>Like <see cref="GetSpan"/>, for code that fills the buffer from several threads.</summary>
    public Memory<byte> GetMemory(int minimum)
    {
        GetSpan(minimum);
        return buffer.AsMemory(fill, BufferSize - fill);
    }

    /// <summary>Commits <paramref name="count"/> bytes written into the span from <see cref="GetSpan"/>.</summary>
    public void Advance(int count)
    {
        CheckLimit(count);
        fill += count;
        position += count;
        if (fill == BufferSize)
        {
            Ship();
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = GetSpan(1);
            var count = Math.Min(span.Length, data.Length);
            data[..count].CopyTo(span);
            Advance(count);
            data = data[count..];
        }
    }

    /// <summary>The next <paramref name="count"/> bytes of the disk are zeros.</summary>
    public void WriteZeros(long count)
    {
        if (count <= 0)
        {
            return;
        }

        CheckLimit(count);

        // Held back until data resumes, so many small runs (zero clusters one by one) become one.
        pendingZeros += count;
    }

    private void FlushZeros()
    {
        var count = pendingZeros;
        if (count == 0)
        {
            return;
        }

        pendingZeros = 0;
        if (count >= ZeroRunThreshold)
        {
            // A long run never passes through a buffer: complete the current 4 KiB block, ship
            // the buffer, and hand the writer the whole blocks as a run.
            var pad = (int)Math.Min(count, (BlockSize - (position % BlockSize)) % BlockSize);
            if (fill + pad > BufferSize)
            {
                Ship();
            }

            buffer.AsSpan(fill, pad).Clear();
            fill += pad;
            position += pad;
            count -= pad;
            Ship();
            var blocks = count - (count % BlockSize);
            Enqueue(new Chunk(position, null, 0, blocks));
            position += blocks;
            count -= blocks;
            buffer.AsSpan(0, (int)count).Clear();
            fill = (int)count;
            position += count;
            return;
        }

        // A short run is cheaper as zeros in the buffer, which the writer turns into holes anyway.
        if (fill > 0)
        {
            var head = (int)Math.Min(count, BufferSize - fill);
            buffer.AsSpan(fill, head).Clear();
            fill += head;
            position += head;
            count -= head;
            if (fill == BufferSize)
            {
                Ship();
            }
        }

        var whole = count - (count % BufferSize);
        if (whole > 0)
        {
            Enqueue(new Chunk(position, null, 0, whole));
            position += whole;
            count -= whole;
        }

        if (count > 0)
        {
            buffer.AsSpan(0, (int)count).Clear();
            fill = (int)count;
            position += count;
        }
    }

    /// <summary>Flushes everything, waits for the writer, and completes the sink with the disk's length.</summary>
    public void Finish()
    {
        FlushZeros();
        if (fill > 0)
        {
            Ship();
        }

        finished = true;
        queue.CompleteAdding();
        writer.Join();
        ThrowIfWriterFailed();
        sink.Complete(position);
        if (hash is not null)
        {
            Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    public void Dispose()
    {
        if (!finished)
        {
            queue.CompleteAdding();
            writer.Join();
        }

        ArrayPool<byte>.Shared.Return(buffer);
        queue.Dispose();
        hash?.Dispose();
    }

    private void CheckLimit(long count)
    {
        if (limit is { } max && Position + count > max)
        {
            throw new ImageException(ImageErrors.OutputBeyondVirtualSize,
                $"The image produces more than its virtual size of {max:N0} bytes.",
                Position + count);
        }
    }

    private void Ship()
    {
        if (fill == 0)
        {
            return;
        }

        Enqueue(new Chunk(position - fill, buffer, fill, 0));
        buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        fill = 0;
        progress?.Invoke(position);
    }

    private void Enqueue(Chunk chunk)
    {
        ThrowIfWriterFailed();
        try
        {
            queue.Add(chunk, cancellationToken);
        }
        catch (InvalidOperationException) when (writerFailure is not null)
        {
            // The writer stopped taking chunks because it failed; report why.
            ThrowIfWriterFailed();
            throw;
        }
    }

    private void ThrowIfWriterFailed()
    {
        if (writerFailure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    private void WriteChunks()
    {
        try
        {
            foreach (var chunk in queue.GetConsumingEnumerable(cancellationToken))
            {
                if (chunk.Buffer is null)
                {
                    sink.WriteZeros(chunk.Offset, chunk.ZeroLength);
                    HashZeros(chunk.ZeroLength);
                    continue;
                }

                var data = chunk.Buffer.AsSpan(0, chunk.Length);
                hash?.AppendData(data);
                WriteSparse(chunk.Offset, data);
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
        }
        catch (Exception e)
        {
            writerFailure = e;

            // Unblock a producer waiting for room; it sees the failure on its next call.
            queue.CompleteAdding();
            while (queue.TryTake(out var pending))
            {
                if (pending.Buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(pending.Buffer);
                }
            }
        }
    }

    // Splits the buffer into runs of blocks with data and runs of all-zero blocks (left as holes).
    // Blocks are 4 KiB aligned on the disk, whatever offset the buffer starts at.
    private void WriteSparse(long offset, ReadOnlySpan<byte> data)
    {
        var runStart = -1;
        var position = 0;
        while (position < data.Length)
        {
            var blockEnd = (int)Math.Min(data.Length, position + BlockSize - ((offset + position) % BlockSize));
            var hasData = data[position..blockEnd].ContainsAnyExcept((byte)0);
            if (hasData && runStart < 0)
            {
                runStart = position;
            }
            else if (!hasData && runStart >= 0)
            {
                sink.WriteData(offset + runStart, data[runStart..position]);
                runStart = -1;
            }

            if (!hasData)
            {
                // Jump over a long zero stretch at once rather than block by block.
                var next = data[blockEnd..].IndexOfAnyExcept((byte)0);
                var zeroEnd = next < 0 ? data.Length : blockEnd + next;
                zeroEnd = Math.Max(blockEnd, zeroEnd - (int)((offset + zeroEnd) % BlockSize));
                sink.WriteZeros(offset + position, zeroEnd - position);
                position = zeroEnd;
                continue;
            }

            position = blockEnd;
        }

        if (runStart >= 0)
        {
            sink.WriteData(offset + runStart, data[runStart..]);
        }
    }

    private void HashZeros(long count)
    {
        if (hash is null)
        {
            return;
        }

        while (count > 0)
        {
            var piece = (int)Math.Min(count, ZeroBlock.Length);
            hash.AppendData(ZeroBlock, 0, piece);
            count -= piece;
        }
    }

    private readonly record struct Chunk(long Offset, byte[]? Buffer, int Length, long ZeroLength);
}
