namespace CdiTools.Engine.Layers;

/// <summary>
/// The compressed bytes under a native decoder, read in blocks: what is left of the current block,
/// how far the decoder has got (for error offsets), and whether the input has ended.
/// </summary>
internal sealed class CompressedInput(Stream stream) : IDisposable
{
    private readonly byte[] buffer = new byte[256 << 10];
    private int start;
    private int end;
    private bool done;

    /// <summary>Bytes the decoder has consumed so far.</summary>
    public long Offset { get; private set; }

    /// <summary>What is left of the current block.</summary>
    public ReadOnlySpan<byte> Available => buffer.AsSpan(start, end - start);

    /// <summary>Reads the next block when the current one is used up; false at the end of the input.</summary>
    public bool EnsureAvailable()
    {
        if (start < end)
        {
            return true;
        }

        if (done)
        {
            return false;
        }

        start = 0;
        end = stream.Read(buffer);
        done = end == 0;
        return !done;
    }

    public void Consume(int count)
    {
        start += count;
        Offset += count;
    }

    public void Dispose() => stream.Dispose();
}
