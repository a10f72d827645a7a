namespace CdiTools.Engine.Sources;

/// <summary>The outermost random-access input: counts the bytes read, for progress and the result.</summary>
internal sealed class CountingRandomSource(IRandomAccessSource inner) : IRandomAccessSource
{
    private long bytesRead;

    public long BytesRead => Interlocked.Read(ref bytesRead);

    public long Length => inner.Length;

    public int ReadAt(long offset, Span<byte> buffer)
    {
        var read = inner.ReadAt(offset, buffer);
        Interlocked.Add(ref bytesRead, read);
        return read;
    }

    public DataRange NextData(long offset) => inner.NextData(offset);

    public void Dispose() => inner.Dispose();
}
