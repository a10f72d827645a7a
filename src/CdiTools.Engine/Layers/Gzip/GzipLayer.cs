using System.Buffers.Binary;
using System.IO.Compression;
using CdiTools.Engine.Native;
using Crc32 = System.IO.Hashing.Crc32;

namespace CdiTools.Engine.Layers.Gzip;

/// <summary>
/// Decodes a .gz layer, every member of a multi-member file included. With the system's zlib a
/// member that stops before its trailer is an error (GzipTruncated); System.IO.Compression, the
/// fallback where zlib does not load, ends such a file silently short.
/// </summary>
public static class GzipLayer
{
    /// <summary>The decoder <see cref="Open"/> uses: "zlib 1.2.13" or "System.IO.Compression".</summary>
    public static string DecoderName(bool preferNative = true) => preferNative && Zlib.IsAvailable ? $"zlib {Zlib.Version}" : "System.IO.Compression";

    public static Stream Open(Stream compressed, bool preferNative = true) => preferNative && Zlib.IsAvailable
        ? new ZlibGzipStream(compressed)
        : new ErrorTranslatingStream(new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: false), "Gzip");
}

/// <summary>
/// gzip members one after another through one reset zlib inflater; zero padding after the last is
/// allowed, as gzip(1) allows it. Each member's CRC-32 and length are checked here with the
/// vectorised CRC of System.IO.Hashing, which costs a fifth of zlib's own.
/// </summary>
internal sealed class ZlibGzipStream : Stream
{
    private const int GzipWindowBits = 16 + 15;

    private readonly Stream compressed;
    private readonly ZlibInflater inflater = new(GzipWindowBits);
    private readonly byte[] input = new byte[256 << 10];
    private readonly Crc32? crc;
    private readonly byte[] lastConsumed = new byte[8];
    private long memberLength;
    private int inputStart;
    private int inputEnd;
    private long inputOffset;
    private bool inputDone;
    private bool memberOpen;
    private bool finished;

    public ZlibGzipStream(Stream compressed)
    {
        this.compressed = compressed;
        crc = inflater.DisableCheck() ? new Crc32() : null;
    }

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
        if (buffer.IsEmpty || finished)
        {
            return 0;
        }

        while (true)
        {
            if (inputStart == inputEnd && !Fill())
            {
                if (memberOpen)
                {
                    throw new ImageException("GzipTruncated", "The gzip layer ends inside a member, before its trailer.", inputOffset);
                }

                finished = true;
                return 0;
            }

            if (!memberOpen)
            {
                // Between members: zeros to the end are padding; anything else must be a member.
                var padding = input.AsSpan(inputStart, inputEnd - inputStart).IndexOfAnyExcept((byte)0);
                if (padding < 0)
                {
                    Consume(inputEnd - inputStart);
                    continue;
                }

                Consume(padding);
                memberOpen = true;
            }

            var status = inflater.Inflate(input.AsSpan(inputStart, inputEnd - inputStart), buffer, out var consumed, out var produced);
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
                throw new ImageException("GzipCorrupt", $"The gzip layer is corrupt: {inflater.Message ?? $"zlib error {status}"}.", inputOffset);
            }

            if (produced > 0)
            {
                return produced;
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
            inflater.Dispose();
            compressed.Dispose();
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
            throw new ImageException("GzipCorrupt", "The gzip layer is corrupt: a member's CRC-32 or length does not match its data.", inputOffset);
        }

        crc.Reset();
        memberLength = 0;
    }

    private void Consume(int count)
    {
        if (crc is not null && count > 0)
        {
            if (count >= 8)
            {
                input.AsSpan(inputStart + count - 8, 8).CopyTo(lastConsumed);
            }
            else
            {
                lastConsumed.AsSpan(count).CopyTo(lastConsumed);
                input.AsSpan(inputStart, count).CopyTo(lastConsumed.AsSpan(8 - count));
            }
        }

        inputStart += count;
        inputOffset += count;
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
