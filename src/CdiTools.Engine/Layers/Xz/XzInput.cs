using System.Buffers;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// The compressed bytes as the managed decoder sees them: buffered here, so the exact offset of
/// every structure is known no matter how far ahead the source was read, and so headers can be
/// looked at before SharpCompress is handed the same bytes.
/// </summary>
/// <remarks>
/// Through the <see cref="Stream"/> interface (what SharpCompress reads) every read is filled in
/// full or fails with XzTruncated: a block is never legitimately cut short by the end of the
/// input, and SharpCompress takes a short read as the end of a structure, or turns the -1 of
/// ReadByte into a byte value, rather than reporting truncation.
/// </remarks>
internal sealed class XzInput : Stream
{
    internal const int BufferSize = 256 * 1024;

    private readonly Stream source;
    private byte[]? buffer;
    private int start;
    private int end;
    private long bufferOffset;
    private bool sourceEnded;

    public XzInput(Stream source)
    {
        this.source = source;
        buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    /// <summary>The offset in the compressed layer of the next byte not yet consumed.</summary>
    public long Offset => bufferOffset + start;

    /// <summary>The bytes buffered and not yet consumed.</summary>
    public ReadOnlySpan<byte> Buffered => Buffer.AsSpan(start, end - start);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    // XZBlock reads Position to align block padding; it is the consumed offset, never set.
    public override long Position
    {
        get => Offset;
        set => throw new NotSupportedException();
    }

    private byte[] Buffer => buffer ?? throw new ObjectDisposedException(nameof(XzInput));

    /// <summary>Buffers at least <paramref name="count"/> bytes (at most the buffer's size); false if the input ends first.</summary>
    public bool Fill(int count)
    {
        var data = Buffer;
        if (count > data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "More than the input buffer holds.");
        }

        if (end - start >= count)
        {
            return true;
        }

        if (start > 0)
        {
            data.AsSpan(start, end - start).CopyTo(data);
            bufferOffset += start;
            end -= start;
            start = 0;
        }

        while (end < count && !sourceEnded)
        {
            var read = source.Read(data, end, data.Length - end);
            if (read == 0)
            {
                sourceEnded = true;
            }

            end += read;
        }

        return end >= count;
    }

    /// <summary>Consumes <paramref name="count"/> bytes already buffered.</summary>
    public void Skip(int count)
    {
        if (count > end - start)
        {
            throw new InvalidOperationException("Skipping past the buffered bytes.");
        }

        start += count;
    }

    /// <summary>Consumes one byte, or fails with XzTruncated at the end of the input.</summary>
    public byte Next()
    {
        if (start == end && !Fill(1))
        {
            throw Truncated();
        }

        return Buffer[start++];
    }

    /// <summary>The error for input that ends too soon, at the offset where it ended, as liblzma reports it.</summary>
    public ImageException Truncated() =>
        new(ImageErrors.XzTruncated, "The .xz layer ends before its last stream is complete.", bufferOffset + end);

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> destination)
    {
        var total = 0;
        while (total < destination.Length)
        {
            if (start == end && !Fill(1))
            {
                throw Truncated();
            }

            var count = Math.Min(end - start, destination.Length - total);
            Buffer.AsSpan(start, count).CopyTo(destination[total..]);
            start += count;
            total += count;
        }

        return total;
    }

    public override int ReadByte() => Next();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // Only the owning decoder releases the buffer (see Release): SharpCompress's LZMA stream
    // disposes its input when it is disposed, and that input is this.
    protected override void Dispose(bool disposing) => base.Dispose(disposing);

    /// <summary>Returns the buffer to the pool; the source belongs to the caller.</summary>
    public void Release()
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }
}
