namespace CdiTools.Engine.Sinks;

/// <summary>The raw disk written in order to a stream (an upload body, a pipe), zeros included.</summary>
public sealed class StreamSink(Stream stream, bool leaveOpen = false) : IRawSink
{
    private static readonly byte[] Zeros = new byte[1 << 20];

    public long AllocatedBytes { get; private set; }

    public void WriteData(long offset, ReadOnlySpan<byte> data)
    {
        stream.Write(data);
        AllocatedBytes += data.Length;
    }

    public void WriteZeros(long offset, long length)
    {
        while (length > 0)
        {
            var count = (int)Math.Min(length, Zeros.Length);
            stream.Write(Zeros, 0, count);
            length -= count;
        }
    }

    public void Complete(long length) => stream.Flush();

    public void Dispose()
    {
        if (!leaveOpen)
        {
            stream.Dispose();
        }
    }
}
