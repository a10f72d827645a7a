using CdiTools.Engine.Native;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace CdiTools.Engine.Layers.Zstd;

/// <summary>
/// Decodes a .zst layer: several frames and skippable frames in a row, and windows up to 2 GiB
/// (zstd --long=31), which decoders refuse by default beyond 128 MiB. The system's libzstd where
/// it loads, ZstdSharp elsewhere.
/// </summary>
public static class ZstdLayer
{
    private const int MaxWindowLog = 31;

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
        return new ErrorTranslatingStream(stream, "Zstd");
    }
}

/// <summary>A zstd layer through libzstd: a stream that ends inside a frame is ZstdTruncated, never a short disk.</summary>
internal sealed class NativeZstdStream(Stream compressed) : Stream
{
    private readonly ZstdDecoder decoder = new();
    private readonly byte[] input = new byte[256 << 10];
    private int inputStart;
    private int inputEnd;
    private long inputOffset;
    private bool inputDone;
    private bool frameOpen;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (inputStart == inputEnd && !Fill())
            {
                if (frameOpen)
                {
                    throw new ImageException("ZstdTruncated", "The zstd layer ends inside a frame.", inputOffset);
                }

                return 0;
            }

            nuint hint;
            int consumed, produced;
            try
            {
                hint = decoder.Decompress(input.AsSpan(inputStart, inputEnd - inputStart), buffer, out consumed, out produced);
            }
            catch (ZstdDecodeException e)
            {
                throw new ImageException("ZstdCorrupt", $"The zstd layer is corrupt: {e.Message}.", inputOffset, e);
            }

            inputStart += consumed;
            inputOffset += consumed;
            frameOpen = hint != 0;
            if (produced > 0)
            {
                return produced;
            }

            if (consumed == 0 && inputStart < inputEnd)
            {
                // No progress with input left and room to write: the decoder wants more than this buffer holds.
                throw new ImageException("ZstdCorrupt", "The zstd layer stopped making progress.", inputOffset);
            }
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decoder.Dispose();
            compressed.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool Fill()
    {
        if (inputDone)
        {
            return false;
        }

        inputStart = 0;
        inputEnd = compressed.Read(input);
        inputDone = inputEnd == 0;
        return !inputDone;
    }
}
