namespace CdiTools.Engine.Sources;

/// <summary>Bytes that can be read at any offset: a file, an HTTP resource that serves ranges, a window of either.</summary>
public interface IRandomAccessSource : IDisposable
{
    /// <summary>The number of bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <paramref name="buffer"/>'s length at <paramref name="offset"/>; fewer only at
    /// the end. Returns 0 at or beyond <see cref="Length"/>. May be called from several threads.
    /// </summary>
    int ReadAt(long offset, Span<byte> buffer);

    /// <summary>
    /// The first range at or after <paramref name="offset"/> whose bytes are stored; an empty range
    /// at <see cref="Length"/> when only holes remain. Readers skip the holes between ranges (they
    /// read as zeros), so a sparse 20 GiB file holding 64 MiB costs 64 MiB of reading. A source that
    /// cannot tell answers the rest of itself, which is always correct.
    /// </summary>
    DataRange NextData(long offset) => offset >= Length ? new(Length, Length) : new(offset, Length);
}
