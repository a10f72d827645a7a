using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>A position in a tar archive that the header reader moves forward, over a random-access source or a forward-only stream.</summary>
internal abstract class TarCursor
{
    /// <summary>The archive offset of the next byte to read.</summary>
    public long Position { get; protected set; }

    /// <summary>Fills <paramref name="buffer"/> unless the archive ends first; returns how much was read.</summary>
    public abstract int ReadFull(Span<byte> buffer);

    /// <summary>Moves forward to <paramref name="offset"/>; false when the archive ends before it.</summary>
    public abstract bool SkipTo(long offset);
}

/// <summary>Over a random-access source: skipping is free, so listing an archive reads its headers only.</summary>
internal sealed class RandomTarCursor(IRandomAccessSource source) : TarCursor
{
    public void Seek(long offset) => Position = offset;

    public override int ReadFull(Span<byte> buffer)
    {
        // A random-access source returns fewer bytes only at its end.
        var read = source.ReadAt(Position, buffer);
        Position += read;
        return read;
    }

    public override bool SkipTo(long offset)
    {
        if (offset > source.Length)
        {
            Position = source.Length;
            return false;
        }

        Position = offset;
        return true;
    }
}

/// <summary>Over a forward-only stream: skipping reads and discards, through one small scratch buffer.</summary>
internal sealed class ForwardTarCursor(Stream stream) : TarCursor
{
    private byte[]? scratch;

    /// <summary>One read of the stream, straight into the caller's buffer; 0 only at the end.</summary>
    public int ReadSome(Span<byte> buffer)
    {
        var read = stream.Read(buffer);
        Position += read;
        return read;
    }

    public override int ReadFull(Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = ReadSome(buffer[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    public override bool SkipTo(long offset)
    {
        scratch ??= new byte[64 * 1024];
        while (Position < offset)
        {
            if (ReadSome(scratch.AsSpan(0, (int)Math.Min(scratch.Length, offset - Position))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads what follows the end-of-archive blocks (record padding, usually) and throws it away, so
    /// that a decompressor beneath reaches its own end and checks its checksum.
    /// </summary>
    public void Drain() => SkipTo(long.MaxValue);
}
