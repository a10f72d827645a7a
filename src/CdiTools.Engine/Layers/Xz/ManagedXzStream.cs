using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using SharpCompress.Compressors.Xz;
using Crc32 = System.IO.Hashing.Crc32;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// Decodes .xz without liblzma: SharpCompress decodes each block, this class walks the container
/// around the blocks.
/// </summary>
/// <remarks>
/// SharpCompress's XZStream reads one stream only, and past the blocks it checks little: the
/// index CRC32 is read and dropped, the index is never compared with the blocks, the footer's
/// backward size and flags are never compared with the index and the header, and a block's
/// dictionary is allocated at whatever size its header asks for. So the stream headers, stream
/// padding, indexes and footers are parsed and verified here, with liblzma's rules, and each block
/// header is read here first (for the memory limit and to refuse what SharpCompress cannot do)
/// before <see cref="XZBlock"/> decodes that block, its padding and its check. XZBlock verifies
/// CRC32, CRC64 and SHA-256 checks itself. Because blocks are only checked against the index by
/// their padded sizes (XZBlock does not say where its compressed data ended), an index whose
/// unpadded size is off by less than four bytes while its own CRC32 still matches goes unnoticed;
/// liblzma would notice.
/// </remarks>
internal sealed class ManagedXzStream : XzReadStream
{
    private const int ScratchSize = 256 * 1024;
    private const ulong MaxUnpaddedSize = (ulong.MaxValue / 2) & ~3UL;

    private readonly XzInput input;
    private readonly ulong memoryLimit;
    private readonly IncrementalHash blockRecords = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash indexRecords = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? scratch;

    private State state = State.StreamHeader;
    private bool firstStream = true;

    private byte streamFlags0;
    private byte streamFlags1;
    private int checkId;
    private int checkSize;
    private ulong blockCount;

    private XZBlock? block;
    private long blockStart;
    private int blockHeaderSize;
    private ulong? headerCompressedSize;
    private ulong? headerUncompressedSize;
    private ulong blockOutput;

    public ManagedXzStream(Stream compressed, ulong memoryLimit)
        : base(compressed)
    {
        this.memoryLimit = memoryLimit;
        input = new XzInput(compressed);
    }

    private enum State
    {
        StreamHeader,
        BlockHeader,
        Block,
        Index,
    }

    private static ReadOnlySpan<byte> HeaderMagic => [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];

    protected override int ReadCore(Span<byte> destination, out bool end)
    {
        end = false;
        try
        {
            while (true)
            {
                switch (state)
                {
                    case State.StreamHeader:
                        if (!BeginStream())
                        {
                            end = true;
                            return 0;
                        }

                        state = State.BlockHeader;
                        break;
                    case State.BlockHeader:
                        state = BeginBlock() ? State.Block : State.Index;
                        break;
                    case State.Block:
                        var read = ReadBlock(destination);
                        if (read > 0)
                        {
                            return read;
                        }

                        break;
                    case State.Index:
                        ReadIndexAndFooter();
                        firstStream = false;
                        state = State.StreamHeader;
                        break;
                }
            }
        }
        catch (ImageException)
        {
            throw;
        }
        catch (Exception ex) when (ex is NotImplementedException or NotSupportedException)
        {
            throw new ImageException(ImageErrors.XzUnsupportedOptions, $"The managed xz decoder cannot decode this block: {ex.Message}", input.Offset, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // SharpCompress reports bad data with several exception types of its own, and hostile
            // data can surface as plain runtime exceptions too; to the caller all of it is corruption.
            throw new ImageException(ImageErrors.XzCorrupt, $"The .xz data is corrupt: {ex.Message}", input.Offset, ex);
        }
    }

    private bool BeginStream()
    {
        if (!firstStream)
        {
            // Stream padding: whole groups of four zero bytes, between streams or after the last.
            while (true)
            {
                if (!input.Fill(4))
                {
                    var rest = input.Buffered;
                    if (rest.IsEmpty)
                    {
                        return false;
                    }

                    throw rest.IndexOfAnyExcept((byte)0) < 0
                        ? Corrupt("The stream padding at the end of the .xz layer is not a multiple of four bytes.")
                        : input.Truncated();
                }

                if (input.Buffered[..4].IndexOfAnyExcept((byte)0) >= 0)
                {
                    break;
                }

                input.Skip(4);
            }
        }

        if (!input.Fill(12))
        {
            throw input.Truncated();
        }

        var header = input.Buffered[..12];
        if (!header[..6].SequenceEqual(HeaderMagic))
        {
            throw firstStream
                ? new ImageException(ImageErrors.XzNotXz, "The layer is not in the .xz format.", input.Offset)
                : Corrupt("The bytes after an .xz stream are neither stream padding nor another .xz stream.");
        }

        if (Crc32.HashToUInt32(header.Slice(6, 2)) != BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(8, 4)))
        {
            throw Corrupt("The .xz stream header's CRC32 does not match.");
        }

        if (header[6] != 0 || (header[7] & 0xF0) != 0)
        {
            throw Unsupported("The .xz stream header sets flags this decoder does not know.");
        }

        checkId = header[7] & 0x0F;
        checkSize = checkId switch
        {
            0x00 => 0,
            0x01 => 4,
            0x04 => 8,
            0x0A => 32,
            _ => throw new ImageException(ImageErrors.XzUnsupportedCheck, $"The .xz layer uses integrity check type {checkId}, which this decoder cannot verify.", input.Offset),
        };
        streamFlags0 = header[6];
        streamFlags1 = header[7];
        blockCount = 0;
        input.Skip(12);
        return true;
    }

    /// <summary>Vets the next block header and starts XZBlock on it; false when the index comes next instead.</summary>
    private bool BeginBlock()
    {
        if (!input.Fill(1))
        {
            throw input.Truncated();
        }

        var sizeByte = input.Buffered[0];
        if (sizeByte == 0)
        {
            return false;
        }

        var headerSize = (sizeByte + 1) * 4;
        if (!input.Fill(headerSize))
        {
            throw input.Truncated();
        }

        var header = input.Buffered[..headerSize];
        var fields = header[..^4];
        if (Crc32.HashToUInt32(fields) != BinaryPrimitives.ReadUInt32LittleEndian(header[^4..]))
        {
            throw Corrupt("A block header's CRC32 does not match.");
        }

        var flags = fields[1];
        if ((flags & 0x3C) != 0)
        {
            throw Unsupported("A block header sets flags this decoder does not know.");
        }

        var position = 2;
        ulong? compressedSize = (flags & 0x40) != 0 ? ReadVli(fields, ref position) : null;
        ulong? uncompressedSize = (flags & 0x80) != 0 ? ReadVli(fields, ref position) : null;
        var filterCount = (flags & 0x03) + 1;
        ulong dictionarySize = 0;
        for (var i = 0; i < filterCount; i++)
        {
            var id = ReadVli(fields, ref position);
            var propertiesSize = ReadVli(fields, ref position);
            if (propertiesSize > (ulong)(fields.Length - position))
            {
                throw Corrupt("A block header's filter properties run past its end.");
            }

            var properties = fields.Slice(position, (int)propertiesSize);
            position += (int)propertiesSize;
            var isLast = i == filterCount - 1;
            if (id == 0x21)
            {
                // LZMA2; one property byte, the dictionary size. Above 40 includes the reserved bits.
                if (!isLast || properties.Length != 1 || properties[0] > 40)
                {
                    throw Unsupported("A block's LZMA2 filter has options this decoder does not know.");
                }

                var d = properties[0];
                dictionarySize = d == 40 ? uint.MaxValue : (2UL | (d & 1UL)) << ((d / 2) + 11);
            }
            else if (id is >= 0x04 and <= 0x09)
            {
                // The branch converters for x86, PowerPC, IA-64, ARM, ARM-Thumb and SPARC; SharpCompress has no start offset.
                if (isLast || properties.Length != 0)
                {
                    throw Unsupported($"A block's branch filter 0x{id:X2} has options the managed decoder does not support.");
                }
            }
            else
            {
                // Delta (0x03), ARM64 (0x0A), RISC-V (0x0B) and anything newer: liblzma may know them, SharpCompress does not.
                throw Unsupported($"A block uses filter 0x{id:X2}, which the managed xz decoder does not support.");
            }
        }

        if (fields[position..].IndexOfAnyExcept((byte)0) >= 0)
        {
            throw Unsupported("A block header has fields this decoder does not know.");
        }

        // SharpCompress allocates the whole dictionary up front, as an array it sizes with an int.
        if (dictionarySize > memoryLimit || dictionarySize > int.MaxValue)
        {
            throw new ImageException(
                ImageErrors.XzMemoryLimit,
                $"Decoding the .xz layer needs a {dictionarySize:N0}-byte dictionary, more than the {memoryLimit:N0}-byte memory limit.",
                input.Offset);
        }

        blockStart = input.Offset;
        blockHeaderSize = headerSize;
        headerCompressedSize = compressedSize;
        headerUncompressedSize = uncompressedSize;
        blockOutput = 0;
        block = new XZBlock(input, (CheckType)checkId, checkSize);
        return true;
    }

    private int ReadBlock(Span<byte> destination)
    {
        scratch ??= ArrayPool<byte>.Shared.Rent(ScratchSize);
        var count = Math.Min(destination.Length, scratch.Length);

        // XZBlock reads short only at the end of its block, after it has consumed the block
        // padding and verified the check.
        var read = block!.Read(scratch, 0, count);
        scratch.AsSpan(0, read).CopyTo(destination);
        blockOutput += (ulong)read;
        if (read < count)
        {
            FinishBlock();
        }

        return read;
    }

    private void FinishBlock()
    {
        var total = (ulong)(input.Offset - blockStart);
        if (headerUncompressedSize is { } uncompressed && uncompressed != blockOutput)
        {
            throw Corrupt("A block decodes to a different size than its header says.");
        }

        if (headerCompressedSize is { } compressed && RoundUp4((ulong)blockHeaderSize + compressed + (ulong)checkSize) != total)
        {
            throw Corrupt("A block's compressed size differs from what its header says.");
        }

        AppendRecord(blockRecords, total, blockOutput);
        blockCount++;
        block!.Dispose();
        block = null;
        state = State.BlockHeader;
    }

    private void ReadIndexAndFooter()
    {
        var indexStart = input.Offset;
        var crc = new Crc32();
        crc.Append([input.Next()]);
        var records = ReadIndexVli(crc);
        if (records != blockCount)
        {
            throw Corrupt($"The .xz index lists {records:N0} blocks where the stream has {blockCount:N0}.");
        }

        for (ulong i = 0; i < records; i++)
        {
            var unpadded = ReadIndexVli(crc);
            var uncompressed = ReadIndexVli(crc);
            if (unpadded < 5 || unpadded > MaxUnpaddedSize)
            {
                throw Corrupt("An .xz index record has an impossible block size.");
            }

            AppendRecord(indexRecords, RoundUp4(unpadded), uncompressed);
        }

        while ((input.Offset - indexStart) % 4 != 0)
        {
            var padding = input.Next();
            if (padding != 0)
            {
                throw Corrupt("The .xz index padding is not zero.");
            }

            crc.Append([padding]);
        }

        if (!input.Fill(4))
        {
            throw input.Truncated();
        }

        if (crc.GetCurrentHashAsUInt32() != BinaryPrimitives.ReadUInt32LittleEndian(input.Buffered))
        {
            throw Corrupt("The .xz index's CRC32 does not match.");
        }

        input.Skip(4);
        if (!blockRecords.GetHashAndReset().AsSpan().SequenceEqual(indexRecords.GetHashAndReset()))
        {
            throw Corrupt("The .xz index does not match the blocks' sizes.");
        }

        var indexSize = (ulong)(input.Offset - indexStart);
        if (!input.Fill(12))
        {
            throw input.Truncated();
        }

        var footer = input.Buffered[..12];
        if (!footer[10..].SequenceEqual("YZ"u8))
        {
            throw Corrupt("The .xz stream footer's magic bytes are missing.");
        }

        if (Crc32.HashToUInt32(footer.Slice(4, 6)) != BinaryPrimitives.ReadUInt32LittleEndian(footer))
        {
            throw Corrupt("The .xz stream footer's CRC32 does not match.");
        }

        if (footer[8] != 0 || (footer[9] & 0xF0) != 0)
        {
            throw Unsupported("The .xz stream footer sets flags this decoder does not know.");
        }

        var backwardSize = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(footer.Slice(4, 4)) + 1) * 4;
        if (backwardSize != indexSize)
        {
            throw Corrupt("The .xz stream footer's index size does not match the index.");
        }

        if (footer[8] != streamFlags0 || footer[9] != streamFlags1)
        {
            throw Corrupt("The .xz stream footer's flags differ from its header's.");
        }

        input.Skip(12);
    }

    /// <summary>An xz variable-length integer from a block header; liblzma's rules: at most 9 bytes, no redundant trailing zero.</summary>
    private ulong ReadVli(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var i = 0; i < 9; i++)
        {
            if (position >= data.Length)
            {
                throw Corrupt("A block header's fields run past its end.");
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return b == 0 && i > 0 ? throw Corrupt("A block header has a badly encoded integer.") : value;
            }
        }

        throw Corrupt("A block header has an integer longer than nine bytes.");
    }

    /// <summary>An xz variable-length integer from the index, fed into the index's CRC32 as it is read.</summary>
    private ulong ReadIndexVli(Crc32 crc)
    {
        ulong value = 0;
        for (var i = 0; i < 9; i++)
        {
            var b = input.Next();
            crc.Append([b]);
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return b == 0 && i > 0 ? throw Corrupt("The .xz index has a badly encoded integer.") : value;
            }
        }

        throw Corrupt("The .xz index has an integer longer than nine bytes.");
    }

    // The index is checked against the blocks the way liblzma does it, by hashing both lists of
    // records, so memory stays flat however many blocks a stream has.
    private static void AppendRecord(IncrementalHash hash, ulong paddedSize, ulong uncompressedSize)
    {
        Span<byte> record = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(record, paddedSize);
        BinaryPrimitives.WriteUInt64LittleEndian(record[8..], uncompressedSize);
        hash.AppendData(record);
    }

    private static ulong RoundUp4(ulong value) => (value + 3) & ~3UL;

    private ImageException Corrupt(string message) => new(ImageErrors.XzCorrupt, message, input.Offset);

    private ImageException Unsupported(string message) => new(ImageErrors.XzUnsupportedOptions, message, input.Offset);

    protected override void ReleaseDecoder()
    {
        block?.Dispose();
        block = null;
        input.Release();
        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = null;
        }

        blockRecords.Dispose();
        indexRecords.Dispose();
    }
}
