using ZstdSharp;
using ZstdSharp.Unsafe;

namespace CdiTools.Engine.Layers.Zstd;

/// <summary>
/// Decodes a .zst layer: several frames and skippable frames in a row, and windows up to 2 GiB
/// (zstd --long=31), which the decoder refuses by default beyond 128 MiB.
/// </summary>
public static class ZstdLayer
{
    private const int MaxWindowLog = 31;

    public static Stream Open(Stream compressed)
    {
        var stream = new DecompressionStream(compressed, bufferSize: 1 << 20, checkEndOfStream: true, leaveOpen: false);
        stream.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, MaxWindowLog);
        return new ErrorTranslatingStream(stream, "Zstd");
    }
}
