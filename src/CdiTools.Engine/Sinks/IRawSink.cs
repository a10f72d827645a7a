namespace CdiTools.Engine.Sinks;

/// <summary>
/// Where the raw disk goes. Calls arrive from one thread with ascending, non-overlapping offsets;
/// data blocks hold at least one non-zero byte per 4 KiB block, zero runs are announced separately.
/// Disposing a sink that was not completed abandons its output and leaves nothing behind.
/// </summary>
public interface IRawSink : IDisposable
{
    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> of the raw disk.</summary>
    void WriteData(long offset, ReadOnlySpan<byte> data);

    /// <summary>The raw disk holds zeros in [offset, offset + length).</summary>
    void WriteZeros(long offset, long length);

    /// <summary>Gives the disk its final <paramref name="length"/> and publishes it.</summary>
    void Complete(long length);

    /// <summary>Bytes the output occupies: data written, in whole 4 KiB blocks for a sparse file.</summary>
    long AllocatedBytes { get; }

    /// <summary>The part of <see cref="Complete"/> spent making the output durable on stable storage.</summary>
    TimeSpan FlushDuration => TimeSpan.Zero;
}
