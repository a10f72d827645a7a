namespace CdiTools.Engine.Sinks;

/// <summary>Discards the disk and counts it: for inspecting, verifying a checksum, or measuring speed.</summary>
public sealed class NullSink : IRawSink
{
    public long AllocatedBytes { get; private set; }

    public long Length { get; private set; }

    public void WriteData(long offset, ReadOnlySpan<byte> data) => AllocatedBytes += data.Length;

    public void WriteZeros(long offset, long length)
    {
    }

    public void Complete(long length) => Length = length;

    public void Dispose()
    {
    }
}
