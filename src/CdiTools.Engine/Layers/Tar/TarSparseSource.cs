using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>A sparse tar member read at any offset: holes are zeros, islands come from the archive.</summary>
internal sealed class TarSparseSource(IRandomAccessSource archive, long dataOffset, TarSparseMap map, string member) : IRandomAccessSource
{
    public long Length => map.RealSize;

    public int ReadAt(long offset, Span<byte> buffer)
    {
        if (offset >= Length || buffer.IsEmpty)
        {
            return 0;
        }

        buffer = buffer[..(int)Math.Min(buffer.Length, Length - offset)];
        var segment = map.FindSegment(offset);
        var done = 0;
        while (done < buffer.Length)
        {
            var position = offset + done;
            var rest = buffer[done..];
            if (segment == map.Count || position < map.OffsetOf(segment))
            {
                var holeEnd = segment == map.Count ? Length : map.OffsetOf(segment);
                var count = (int)Math.Min(rest.Length, holeEnd - position);
                rest[..count].Clear();
                done += count;
            }
            else
            {
                var count = (int)Math.Min(rest.Length, map.EndOf(segment) - position);
                var at = dataOffset + map.StoredStartOf(segment) + (position - map.OffsetOf(segment));
                if (archive.ReadAt(at, rest[..count]) < count)
                {
                    throw new ImageException(ImageErrors.TarTruncated, $"The tar archive ends inside the data of member '{TarDiskRules.Printable(member)}'.", at);
                }

                done += count;
                segment++;
            }
        }

        return done;
    }

    // The member's own map says where its islands are; each island is stored in the archive, which
    // could itself be sparse, but a tar's data blocks are not written as holes in practice.
    public DataRange NextData(long offset)
    {
        if (offset >= Length)
        {
            return new(Length, Length);
        }

        var segment = map.FindSegment(offset);
        return segment == map.Count
            ? new(Length, Length)
            : new(Math.Max(offset, map.OffsetOf(segment)), map.EndOf(segment));
    }

    // The archive is disposed by whoever owns it.
    public void Dispose()
    {
    }
}

/// <summary>A tar member's source that, once disposed, disposes the tar layer it reads from.</summary>
internal sealed class OwningSource(IRandomAccessSource inner, IDisposable owner) : IRandomAccessSource
{
    public long Length => inner.Length;

    public int ReadAt(long offset, Span<byte> buffer) => inner.ReadAt(offset, buffer);

    public DataRange NextData(long offset) => inner.NextData(offset);

    public void Dispose()
    {
        inner.Dispose();
        owner.Dispose();
    }
}
