using CdiTools.Engine.Native;
using ZstdSharp;
using ZstdSharp.Unsafe;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Zstd;

/// <summary>
/// Decodes a .zst layer: several frames and skippable frames in a row, and windows up to 2 GiB
/// (zstd --long=31), which decoders refuse by default beyond 128 MiB. The system's libzstd where
/// it loads, ZstdSharp elsewhere.
/// </summary>
public static class ZstdLayer
{
    private const int MaxWindowLog = 31;

    /// <summary>The zstd layer in <see cref="Formats.LayerFormats"/>; a stream may open with a
    /// skippable frame (magic 0x184D2A50 to 0x184D2A5F, little-endian).</summary>
    internal static Formats.LayerFormat Registration { get; } = new()
    {
        Name = "zstd",
        Role = Formats.LayerRole.Wrapper,
        Extensions = [".zst", ".zstd"],
        Head = static head => head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD])
            || (head.Length >= 4 && (head[0] & 0xF0) == 0x50 && head[1] == 0x2A && head[2] == 0x4D && head[3] == 0x18),
        Peel = static (input, options) => new(
            LayerInput.FromStream(Open(input.OpenStream(), options.PreferNativeDecoders)),
            $"zstd ({DecoderName(options.PreferNativeDecoders)})"),
    };

    /// <summary>The decoder <see cref="Open"/> uses: "libzstd 1.5.4" or "ZstdSharp".</summary>
    public static string DecoderName(bool preferNative = true) => preferNative && LibZstd.IsAvailable ? $"libzstd {LibZstd.Version}" : "ZstdSharp";

    public static Stream Open(Stream compressed, bool preferNative = true)
    {
        if (preferNative && LibZstd.IsAvailable)
        {
            return new NativeZstdStream(compressed);
        }

        var stream = new DecompressionStream(compressed, bufferSize: 1 << 20, checkEndOfStream: true, leaveOpen: false);
        stream.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, MaxWindowLog);
        return new ErrorTranslatingStream(stream, "Zstd", ImageErrors.ZstdTruncated, ImageErrors.ZstdCorrupt);
    }
}

/// <summary>A zstd layer through libzstd: a stream that ends inside a frame is ZstdTruncated, never a short disk.</summary>
internal sealed class NativeZstdStream(Stream compressed) : ForwardReadStream
{
    private readonly ZstdDecoder decoder = new();
    private readonly CompressedInput input = new(compressed);
    private bool frameOpen;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (!input.EnsureAvailable())
            {
                if (frameOpen)
                {
                    throw new ImageException(ImageErrors.ZstdTruncated, "The zstd layer ends inside a frame.", input.Offset);
                }

                return 0;
            }

            nuint hint;
            int consumed, produced;
            try
            {
                hint = decoder.Decompress(input.Available, buffer, out consumed, out produced);
            }
            catch (ZstdDecodeException e)
            {
                throw new ImageException(ImageErrors.ZstdCorrupt, $"The zstd layer is corrupt: {e.Message}.", input.Offset, e);
            }

            input.Consume(consumed);
            frameOpen = hint != 0;
            if (produced > 0)
            {
                return produced;
            }

            if (consumed == 0)
            {
                // No progress with input left and room to write: the decoder is stuck on this input.
                throw new ImageException(ImageErrors.ZstdCorrupt, "The zstd layer stopped making progress.", input.Offset);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decoder.Dispose();
            input.Dispose();
        }

        base.Dispose(disposing);
    }
}
