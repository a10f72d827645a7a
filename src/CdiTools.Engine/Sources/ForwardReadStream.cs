namespace CdiTools.Engine.Sources;

/// <summary>
/// A read-only stream that only goes forward (decoders, network bodies, replays): the Stream
/// members such streams never support, written once. Derived streams implement
/// <see cref="Read(Span{byte})"/> and, where they own something, Dispose.
/// </summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    public sealed override long Length => throw new NotSupportedException("The stream is forward-only; its length is known only at its end.");

    /// <summary>Bytes read so far where the stream counts them; setting it is never supported.</summary>
    public override long Position
    {
        get => throw new NotSupportedException("The stream is forward-only.");
        set => throw new NotSupportedException("The stream is forward-only.");
    }

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("The stream is forward-only.");

    public sealed override void SetLength(long value) => throw new NotSupportedException("The stream is read-only.");

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read-only.");
}
