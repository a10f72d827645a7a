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
}
