using System.Buffers.Binary;
using System.IO.Compression;
using CdiTools.Engine.Native;
using Crc32 = System.IO.Hashing.Crc32;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Gzip;

/// <summary>
/// Decodes a .gz layer, every member of a multi-member file included. With the system's zlib a
/// member that stops before its trailer is an error (GzipTruncated); System.IO.Compression, the
/// fallback where zlib does not load, ends such a file silently short.
/// </summary>
public static class GzipLayer
{
    /// <summary>The gzip layer in <see cref="Formats.LayerFormats"/>.</summary>
    internal static Formats.LayerFormat Registration { get; } = new()
    {
        Name = "gzip",
        Role = Formats.LayerRole.Wrapper,
        Extensions = [".gz"],
        Head = static head => head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]),
        Peel = static (input, options) => new(
            LayerInput.FromStream(Open(input.OpenStream(), options.PreferNativeDecoders)),
            $"gzip ({DecoderName(options.PreferNativeDecoders)})"),
    };

    /// <summary>The decoder <see cref="Open"/> uses: "zlib 1.2.13" or "System.IO.Compression".</summary>
    public static string DecoderName(bool preferNative = true) => preferNative && Zlib.IsAvailable ? $"zlib {Zlib.Version}" : "System.IO.Compression";

    public static Stream Open(Stream compressed, bool preferNative = true) => preferNative && Zlib.IsAvailable
        ? new ZlibGzipStream(compressed)
        : new ErrorTranslatingStream(new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: false), "Gzip", ImageErrors.GzipTruncated, ImageErrors.GzipCorrupt);
}

/// <summary>
/// gzip members one after another through one reset zlib inflater; zero padding after the last is
/// allowed, as gzip(1) allows it. Each member's CRC-32 and length are checked here with the
/// vectorised CRC of System.IO.Hashing, which costs a fifth of zlib's own.
/// </summary>
internal sealed class ZlibGzipStream : ForwardReadStream
{
    private const int GzipWindowBits = 16 + 15;

    private readonly CompressedInput input;
    private readonly ZlibInflater inflater = new(GzipWindowBits);
    private readonly Crc32? crc;
    private readonly byte[] lastConsumed = new byte[8];
    private long memberLength;
    private bool memberOpen;
    private bool finished;

    public ZlibGzipStream(Stream compressed)
    {
        input = new CompressedInput(compressed);
        crc = inflater.DisableCheck() ? new Crc32() : null;
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || finished)
        {
            return 0;
        }

        while (true)
        {
            if (!input.EnsureAvailable())
            {
                if (memberOpen)
                {
                    throw new ImageException(ImageErrors.GzipTruncated, "The gzip layer ends inside a member, before its trailer.", input.Offset);
                }

                finished = true;
                return 0;
            }

            if (!memberOpen)
            {
                // Between members: zeros to the end are padding; anything else must be a member.
                var padding = input.Available.IndexOfAnyExcept((byte)0);
                if (padding < 0)
                {
                    Consume(input.Available.Length);
                    continue;
                }

                Consume(padding);
                memberOpen = true;
            }

            var status = inflater.Inflate(input.Available, buffer, out var consumed, out var produced);
            Consume(consumed);
            if (crc is not null && produced > 0)
            {
                crc.Append(buffer[..produced]);
                memberLength += produced;
            }

            if (status == Native.Zlib.StreamEnd)
            {
                CheckTrailer();
                inflater.Reset();
                memberOpen = false;
            }
            else if (status is not (Native.Zlib.Ok or Native.Zlib.BufferError))
            {
                throw new ImageException(ImageErrors.GzipCorrupt, $"The gzip layer is corrupt: {inflater.Message ?? $"zlib error {status}"}.", input.Offset);
            }

            if (produced > 0)
            {
                return produced;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inflater.Dispose();
            input.Dispose();
        }

        base.Dispose(disposing);
    }

    // At a member's end the last 8 bytes consumed are its trailer: CRC-32 and length mod 2^32.
    private void CheckTrailer()
    {
        if (crc is null)
        {
            return;
        }

        if (crc.GetCurrentHashAsUInt32() != BinaryPrimitives.ReadUInt32LittleEndian(lastConsumed)
            || (uint)memberLength != BinaryPrimitives.ReadUInt32LittleEndian(lastConsumed.AsSpan(4)))
        {
            throw new ImageException(ImageErrors.GzipCorrupt, "The gzip layer is corrupt: a member's CRC-32 or length does not match its data.", input.Offset);
        }

        crc.Reset();
        memberLength = 0;
    }

    private void Consume(int count)
    {
        if (crc is not null && count > 0)
        {
            var taken = input.Available[..count];
            if (count >= 8)
            {
                taken[^8..].CopyTo(lastConsumed);
            }
            else
            {
                lastConsumed.AsSpan(count).CopyTo(lastConsumed);
                taken.CopyTo(lastConsumed.AsSpan(8 - count));
            }
        }

        input.Consume(count);
    }
}
