using System.Buffers;
using System.IO.Pipelines;

namespace CdiTools.Engine.Sources;

/// <summary>
/// Decodes ahead on a thread of its own: the wrapper layers (gzip, xz, zstd, tar) fill a pipe
/// while the format driver reads from it, so decompression and format decoding use two cores
/// instead of taking turns on one. The pipe holds at most a few MiB.
/// </summary>
internal sealed class ReadAheadStream : ForwardReadStream
{
    private const int Chunk = 1 << 20;

    private readonly Stream inner;
    private readonly Pipe pipe = new(new PipeOptions(
        pauseWriterThreshold: 8L << 20,
        resumeWriterThreshold: 4L << 20,
        minimumSegmentSize: Chunk,
        useSynchronizationContext: false));

    private readonly Task producer;
    private bool disposed;

    public ReadAheadStream(Stream inner)
    {
        this.inner = inner;
        producer = Task.Factory.StartNew(Produce, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // The driver runs on a thread of its own: waiting here blocks nothing else.
        if (!pipe.Reader.TryRead(out var result))
        {
            result = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        }

        var available = result.Buffer;
        if (available.IsEmpty && result.IsCompleted)
        {
            pipe.Reader.AdvanceTo(available.End);
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, available.Length);
        var taken = available.Slice(0, count);
        taken.CopyTo(buffer);
        pipe.Reader.AdvanceTo(taken.End);
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;

            // Stop the producer and wait for it: the decoders below free native memory on
            // dispose, which must not happen while the producer is inside one of them.
            pipe.Reader.Complete();
            try
            {
                producer.GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                // Its error, if any, has been or will never be read; disposing must not throw.
            }

            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task Produce()
    {
        try
        {
            while (true)
            {
                var memory = pipe.Writer.GetMemory(Chunk);
                var read = inner.Read(memory.Span);
                if (read == 0)
                {
                    break;
                }

                pipe.Writer.Advance(read);
                var flushed = await pipe.Writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted)
                {
                    break;
                }
            }

            await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
        }
    }
}
