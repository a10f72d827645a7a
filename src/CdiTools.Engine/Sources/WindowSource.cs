namespace CdiTools.Engine.Sources;

/// <summary>A contiguous part of another random-access source, such as a member of an uncompressed tar.</summary>
public sealed class WindowSource(IRandomAccessSource inner, long start, long length) : IRandomAccessSource
{
    public long Length { get; } = length;

    public int ReadAt(long offset, Span<byte> buffer)
    {
        if (offset >= Length)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, Length - offset);
        return inner.ReadAt(start + offset, buffer[..count]);
    }

    public DataRange NextData(long offset)
    {
        if (offset >= Length)
        {
            return new(Length, Length);
        }

        var found = inner.NextData(start + offset);
        return new(Math.Min(found.Start - start, Length), Math.Min(found.End - start, Length));
    }

    // The window does not own the source it looks into.
    public void Dispose()
    {
    }
}
