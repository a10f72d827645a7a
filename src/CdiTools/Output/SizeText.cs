using CdiTools.Engine;

namespace CdiTools;

/// <summary>Byte counts as people read them, for format views (which cannot reach the engine's types by name).</summary>
public static class SizeText
{
    /// <summary>"20 GiB", "819 MiB", "512 B".</summary>
    public static string Format(long bytes) => ByteSize.Format(bytes);

    /// <summary>"350 MiB/s".</summary>
    public static string Rate(double bytesPerSecond) => ByteSize.FormatRate(bytesPerSecond);
}
