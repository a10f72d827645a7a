using System.Net;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// An HTTP resource read by ranges through a block cache. Scattered small reads, like an image
/// format's metadata, cost one block each; reads that keep moving forward fetch more and more at
/// once, so reading the whole image costs few requests. Memory stays bounded: a least-recently-used
/// set of blocks, plus the fetches in flight.
/// </summary>
internal sealed class HttpRangeSource : IRandomAccessSource
{
    /// <summary>Small enough that a scattered read downloads little, large enough to cover a qcow2 L2 table and its neighbours.</summary>
    internal const int BlockSize = 256 * 1024;

    /// <summary>32 MiB of cached blocks.</summary>
    internal const int CacheCapacityBlocks = 128;

    /// <summary>8 MiB: the most one request fetches, read-ahead included.</summary>
    internal const int MaxBlocksPerRequest = 32;

    // Several workers may each read their own part of the image in order.
    private const int TrackedReaders = 8;

    private readonly HttpTransport transport;
    private readonly object gate = new();
    private readonly Dictionary<long, LinkedListNode<(long Index, byte[] Data)>> cached = [];
    private readonly LinkedList<(long Index, byte[] Data)> recency = new();
    private readonly Dictionary<long, PendingFetch> pending = [];
    private readonly SequentialReader[] readers = new SequentialReader[TrackedReaders];
    private long clock;
    private int disposed;

    public HttpRangeSource(HttpTransport transport, Uri uri, long length, byte[]? firstBlock)
    {
        this.transport = transport;
        Uri = uri;
        Length = length;
        if (firstBlock is not null && firstBlock.Length == (int)Math.Min(BlockSize, length))
        {
            Insert(0, firstBlock);
        }
    }

    public Uri Uri { get; }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length || buffer.IsEmpty)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, Length - offset);
        var lastBlock = (offset + count - 1) / BlockSize;
        var readAhead = NoteRead(offset, count);
        var done = 0;
        while (done < count)
        {
            var position = offset + done;
            var index = position / BlockSize;
            var block = GetBlock(index, lastBlock, readAhead);
            var start = (int)(position - (index * BlockSize));
            var length = Math.Min(count - done, block.Length - start);
            block.AsSpan(start, length).CopyTo(buffer.Slice(done, length));
            done += length;
        }

        return count;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            lock (gate)
            {
                cached.Clear();
                recency.Clear();
            }

            transport.Dispose();
        }
    }

    /// <summary>
    /// Records a read and returns how many blocks to fetch beyond it, should it miss the cache:
    /// none for a read that continues nothing, then twice the blocks the reader has read in order,
    /// so read-ahead grows only as far as a reader has shown it reads on.
    /// </summary>
    private int NoteRead(long offset, int count)
    {
        lock (gate)
        {
            clock++;
            var oldest = 0;
            for (var i = 0; i < readers.Length; i++)
            {
                ref var reader = ref readers[i];

                // A gap shorter than a block still counts as reading on: formats skip headers and tables.
                if (reader.LastUse != 0 && offset >= reader.End && offset - reader.End < BlockSize)
                {
                    var before = reader.Run;
                    reader.End = offset + count;
                    reader.Run += count;
                    reader.LastUse = clock;
                    var blocksRead = (before + BlockSize - 1) / BlockSize;
                    return (int)Math.Clamp(2 * blocksRead, 1, MaxBlocksPerRequest);
                }

                if (reader.LastUse < readers[oldest].LastUse)
                {
                    oldest = i;
                }
            }

            readers[oldest] = new SequentialReader { End = offset + count, Run = count, LastUse = clock };
            return 0;
        }
    }

    private byte[] GetBlock(long index, long lastBlock, int readAhead)
    {
        PendingFetch? other;
        PendingFetch? mine = null;
        lock (gate)
        {
            if (cached.TryGetValue(index, out var node))
            {
                recency.Remove(node);
                recency.AddFirst(node);
                return node.Value.Data;
            }

            if (!pending.TryGetValue(index, out other))
            {
                var blocksInFile = (Length + BlockSize - 1) / BlockSize;
                var wanted = Math.Min(MaxBlocksPerRequest, lastBlock - index + 1 + readAhead);
                var run = 0;
                while (run < wanted && index + run < blocksInFile && !cached.ContainsKey(index + run) && !pending.ContainsKey(index + run))
                {
                    run++;
                }

                mine = new PendingFetch(index, run);
                for (var i = 0; i < run; i++)
                {
                    pending[index + i] = mine;
                }
            }
        }

        if (mine is null)
        {
            return other!.Wait()[index - other.First];
        }

        byte[][] blocks;
        try
        {
            blocks = Fetch(mine.First, mine.Count);
        }
        catch (Exception e)
        {
            lock (gate)
            {
                for (var i = 0; i < mine.Count; i++)
                {
                    pending.Remove(mine.First + i);
                }
            }

            mine.Fail(e);
            throw;
        }

        lock (gate)
        {
            for (var i = 0; i < mine.Count; i++)
            {
                pending.Remove(mine.First + i);
                Insert(mine.First + i, blocks[i]);
            }
        }

        mine.Complete(blocks);
        return blocks[0];
    }

    private void Insert(long index, byte[] data)
    {
        if (cached.TryGetValue(index, out var existing))
        {
            recency.Remove(existing);
        }

        cached[index] = recency.AddFirst((index, data));
        while (cached.Count > CacheCapacityBlocks)
        {
            var last = recency.Last!;
            recency.RemoveLast();
            cached.Remove(last.Value.Index);
        }
    }

    /// <summary>Fetches <paramref name="count"/> blocks from <paramref name="first"/> with one range request, repeated on transient failures.</summary>
    private byte[][] Fetch(long first, int count)
    {
        var from = first * BlockSize;
        var to = Math.Min((first + count) * BlockSize, Length) - 1;
        var blocks = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var start = (first + i) * BlockSize;
            blocks[i] = new byte[(int)(Math.Min(start + BlockSize, Length) - start)];
        }

        transport.RetryAsync(
            async () =>
            {
                var response = await transport.SendAsync(HttpMethod.Get, Uri, (from, to), sync: true, CancellationToken.None).ConfigureAwait(false);
                using var body = new HttpResponseBody(response, transport.Timeout);
                CheckRangeAnswer(response, from, to);
                var received = 0L;
                try
                {
                    foreach (var block in blocks)
                    {
                        var read = body.ReadFully(block, transport);
                        received += read;
                        if (read < block.Length)
                        {
                            throw new TransientHttpException(new HttpFailure(ImageErrors.HttpTruncated,
                                $"{HttpTransport.Display(Uri)} sent {received:N0} of the {to - from + 1:N0} bytes of range {from}-{to}.",
                                from + received));
                        }
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or HttpRequestException)
                {
                    throw new TransientHttpException(body.Stalled
                        ? new HttpFailure(ImageErrors.HttpTimeout, $"{HttpTransport.Display(Uri)} stopped sending range {from}-{to} for {transport.Timeout.TotalSeconds:0.#} s.", from + received, e)
                        : new HttpFailure(ImageErrors.HttpTruncated, $"The connection to {HttpTransport.Display(Uri)} ended after {received:N0} of the {to - from + 1:N0} bytes of range {from}-{to}.", from + received, e));
                }

                return true;
            },
            sync: true,
            CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return blocks;
    }

    private void CheckRangeAnswer(HttpResponseMessage response, long from, long to)
    {
        var shown = HttpTransport.Display(Uri);
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent:
                var range = response.Content.Headers.ContentRange;
                if (range is not { Unit: "bytes", From: { } f, To: { } t } || f != from || t != to || (range.Length is { } total && total != Length))
                {
                    throw new ImageException(ImageErrors.HttpRangeMismatch,
                        $"{shown} answered the request for bytes {from}-{to}/{Length} with Content-Range '{range?.ToString() ?? "(none)"}'; the file may have changed on the server.",
                        from);
                }

                return;
            case HttpStatusCode.OK:
                throw new ImageException(ImageErrors.HttpRangeMismatch, $"{shown} answered a range request with the whole file (HTTP 200); it no longer serves ranges.", from);
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                throw new ImageException(ImageErrors.HttpRangeMismatch, $"{shown} says bytes {from}-{to} are beyond its end (HTTP 416); the file has shrunk from {Length:N0} bytes.", from);
            default:
                var failure = transport.StatusFailure(response) with { Offset = from };
                throw (int)response.StatusCode >= 500 ? new TransientHttpException(failure) : (Exception)failure.ToException();
        }
    }

    private struct SequentialReader
    {
        public long End;
        public long Run;
        public long LastUse;
    }

    /// <summary>A fetch other readers of the same blocks wait for instead of fetching them again.</summary>
    private sealed class PendingFetch(long first, int count)
    {
        private readonly TaskCompletionSource<byte[][]> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long First { get; } = first;

        public int Count { get; } = count;

        public byte[][] Wait() => completion.Task.GetAwaiter().GetResult();

        public void Complete(byte[][] blocks) => completion.SetResult(blocks);

        public void Fail(Exception e) => completion.SetException(e);
    }
}
