namespace CdiTools.Engine.Sources;

/// <summary>
/// The bytes of one layer of an image, as a random-access source where the layer allows it (a
/// file, an uncompressed tar member of a file) or else as a forward-only stream (after a
/// decompressor, a network stream without ranges).
/// </summary>
public sealed class LayerInput : IDisposable
{
    private LayerInput(IRandomAccessSource? random, Stream? forward, long? length)
    {
        Random = random;
        Forward = forward;
        Length = length;
    }

    /// <summary>Random access to the layer; null for a forward-only layer.</summary>
    public IRandomAccessSource? Random { get; }

    /// <summary>The layer as a forward-only stream; null for a random-access layer.</summary>
    public Stream? Forward { get; }

    /// <summary>The layer's length when it is known up front.</summary>
    public long? Length { get; }

    public static LayerInput FromRandom(IRandomAccessSource source) => new(source, null, source.Length);

    public static LayerInput FromStream(Stream stream, long? length = null) => new(null, stream, length);

    /// <summary>Reads the layer's first bytes without consuming them: a forward stream is replaced by one that replays them.</summary>
    public (LayerInput Input, byte[] Head) Peek(int count)
    {
        var head = new byte[count];
        if (Random is not null)
        {
            var read = Random.ReadAt(0, head);
            return (this, head[..read]);
        }

        var total = 0;
        while (total < count)
        {
            var read = Forward!.Read(head, total, count - total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        head = head[..total];
        return (new LayerInput(null, new ReplayStream(head, Forward!), Length), head);
    }

    /// <summary>The layer as a stream, forward-only or seekable.</summary>
    public Stream OpenStream() => Forward ?? new RandomAccessStream(Random!);

    public void Dispose()
    {
        Random?.Dispose();
        Forward?.Dispose();
    }

    /// <summary>Gives back bytes already read from a forward stream, then continues with it.</summary>
    private sealed class ReplayStream(byte[] head, Stream rest) : ForwardReadStream
    {
        private int headPosition;

        public override int Read(Span<byte> buffer)
        {
            if (headPosition < head.Length)
            {
                var count = Math.Min(buffer.Length, head.Length - headPosition);
                head.AsSpan(headPosition, count).CopyTo(buffer);
                headPosition += count;
                return count;
            }

            return rest.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            headPosition < head.Length ? ValueTask.FromResult(Read(buffer.Span)) : rest.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
