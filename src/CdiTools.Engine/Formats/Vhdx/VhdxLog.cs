using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// The VHDX metadata log: a circular buffer of 4 KiB sectors holding entries (a header, data and
/// zero descriptors, data sectors), each checked by CRC-32C. Finds the active sequence the way
/// qemu does before it replays a log (block/vhdx-log.c, vhdx_log_search and vhdx_log_flush) and
/// replays it into a <see cref="VhdxOverlay"/> instead of the file.
/// </summary>
internal static class VhdxLog
{
    public const int SectorSize = 4096;
    private const int EntryHeaderSize = 64;
    private const int DescriptorSize = 32;
    private const uint EntrySignature = 0x65676F6C; // "loge"
    private const uint ZeroSignature = 0x6F72657A; // "zero"
    private const uint DataDescriptorSignature = 0x63736564; // "desc"

    /// <summary>The writes of the active sequence, or null when the log holds no valid sequence (nothing to replay).</summary>
    public static VhdxOverlay? Replay(byte[] log, long logOffset, Guid logGuid, long fileLength)
    {
        var sequence = Search(log, logOffset, logGuid);
        if (sequence is not { } active)
        {
            return null;
        }

        var overlay = new VhdxOverlay();
        var read = active.Start;
        for (var i = 0; i < active.Count; i++)
        {
            var header = ReadHeader(log, read);
            if (header.FlushedFileOffset > (ulong)fileLength)
            {
                throw new ImageException(ImageErrors.VhdxLogInvalid, $"The log entry with sequence number {header.Sequence} says the file was at least {header.FlushedFileOffset:N0} bytes long, but it is {fileLength:N0}: the image was truncated.", logOffset + read);
            }

            var descriptors = ReadDescriptors(log, logOffset, logGuid, ref read, out header);
            for (var d = 0; d < header.DescriptorCount; d++)
            {
                var descriptor = descriptors.AsSpan(EntryHeaderSize + (d * DescriptorSize), DescriptorSize);
                var fileOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(descriptor[16..]);
                if (BinaryPrimitives.ReadUInt32LittleEndian(descriptor) == DataDescriptorSignature)
                {
                    if (read == active.End)
                    {
                        throw new ImageException(ImageErrors.VhdxLogInvalid, $"The log entry with sequence number {header.Sequence} has fewer data sectors than data descriptors.", logOffset + read);
                    }

                    var data = log.AsSpan(read, SectorSize);
                    var dataSequence = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(data[4092..]);
                    if (dataSequence != header.Sequence)
                    {
                        throw new ImageException(ImageErrors.VhdxLogInvalid, $"A data sector of the log entry with sequence number {header.Sequence} has sequence number {dataSequence}.", logOffset + read);
                    }

                    // The sector's first 8 and last 4 bytes live in the descriptor.
                    var sector = new byte[SectorSize];
                    descriptor.Slice(8, 8).CopyTo(sector);
                    data.Slice(8, 4084).CopyTo(sector.AsSpan(8));
                    descriptor.Slice(4, 4).CopyTo(sector.AsSpan(4092));
                    overlay.AddData(fileOffset, sector);
                    read = Next(read, log.Length);
                }
                else
                {
                    var zeroLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(descriptor[8..]);
                    overlay.AddZeros(fileOffset, zeroLength);
                }
            }

            overlay.AddLastFileOffset((long)Math.Min(header.LastFileOffset, long.MaxValue), (long)Math.Min(header.FlushedFileOffset, long.MaxValue));
        }

        return overlay;
    }

    // Walks the whole buffer sector by sector; of the runs of valid entries found, the one whose
    // first entry has the highest sequence number is active. As in qemu, the first two entries
    // of a run are not checked for consecutive sequence numbers, only the later ones.
    private static Sequence? Search(byte[] log, long logOffset, Guid logGuid)
    {
        Sequence? candidate = null;
        var read = 0;
        while (true)
        {
            var tail = read;
            var first = Validate(log, logOffset, logGuid, ref read, 0);
            if (first is { } firstHeader)
            {
                var current = new Sequence(tail, read, 1, firstHeader.Sequence);
                ulong previous = 0;
                while (Validate(log, logOffset, logGuid, ref read, previous) is { } next)
                {
                    current = current with { End = read, Count = current.Count + 1 };
                    previous = next.Sequence;
                }

                if (candidate is null || current.FirstSequence > candidate.Value.FirstSequence)
                {
                    candidate = current;
                }
            }

            // Back at or before where this pass started: the buffer has been walked once. (An
            // entry that wraps exactly onto its own start would make qemu walk forever.)
            if (read <= tail)
            {
                return candidate;
            }
        }
    }

    // One entry at `read`: its header, descriptors and checksum. An entry that is simply not
    // valid moves `read` on (one sector, or past the entry when only its checksum is wrong); a
    // valid header with a malformed descriptor makes the whole log unusable, as it does in qemu.
    private static EntryHeader? Validate(byte[] log, long logOffset, Guid logGuid, ref int read, ulong previousSequence)
    {
        var header = ReadHeader(log, read);
        if (!IsValid(header, log.Length, logGuid) || (previousSequence > 0 && header.Sequence != previousSequence + 1))
        {
            read = Next(read, log.Length);
            return null;
        }

        var descriptors = ReadDescriptors(log, logOffset, logGuid, ref read, out _);
        var descriptorSectors = descriptors.Length / SectorSize;
        var totalSectors = (int)(header.EntryLength / SectorSize);
        var state = VhdxCrc32C.Update(uint.MaxValue, descriptors.AsSpan(0, 4));
        state = VhdxCrc32C.Update(state, [0, 0, 0, 0]);
        state = VhdxCrc32C.Update(state, descriptors.AsSpan(8));
        for (var i = descriptorSectors; i < totalSectors; i++)
        {
            state = VhdxCrc32C.Update(state, log.AsSpan(read, SectorSize));
            read = Next(read, log.Length);
        }

        if (~state != BinaryPrimitives.ReadUInt32LittleEndian(descriptors.AsSpan(4)))
        {
            return null;
        }

        return header;
    }

    private static bool IsValid(EntryHeader header, int logLength, Guid logGuid) =>
        header.Signature == EntrySignature
        && header.EntryLength <= (uint)logLength
        && header.EntryLength % SectorSize == 0
        && header.Sequence != 0
        && header.LogGuid == logGuid
        && (ulong)header.DescriptorCount * DescriptorSize <= header.EntryLength;

    // The header sector and the descriptor sectors after it, gathered across the buffer's end;
    // every descriptor must belong to the entry and name a sector-aligned offset.
    private static byte[] ReadDescriptors(byte[] log, long logOffset, Guid logGuid, ref int read, out EntryHeader header)
    {
        header = ReadHeader(log, read);
        if (!IsValid(header, log.Length, logGuid))
        {
            throw new ImageException(ImageErrors.VhdxLogInvalid, "A log entry of the active sequence is not valid.", logOffset + read);
        }

        var sectors = (int)((header.DescriptorCount + 2 + 127) / 128);
        var buffer = new byte[sectors * SectorSize];
        for (var i = 0; i < sectors; i++)
        {
            log.AsSpan(read, SectorSize).CopyTo(buffer.AsSpan(i * SectorSize));
            read = Next(read, log.Length);
        }

        for (var d = 0; d < header.DescriptorCount; d++)
        {
            var descriptor = buffer.AsSpan(EntryHeaderSize + (d * DescriptorSize), DescriptorSize);
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(descriptor);
            var fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(descriptor[16..]);
            var sequence = BinaryPrimitives.ReadUInt64LittleEndian(descriptor[24..]);
            var valid = sequence == header.Sequence
                && fileOffset % SectorSize == 0
                && fileOffset <= long.MaxValue
                && (signature == DataDescriptorSignature
                    || (signature == ZeroSignature && BinaryPrimitives.ReadUInt64LittleEndian(descriptor[8..]) % SectorSize == 0 && BinaryPrimitives.ReadUInt64LittleEndian(descriptor[8..]) <= long.MaxValue - fileOffset));
            if (!valid)
            {
                throw new ImageException(ImageErrors.VhdxLogInvalid, $"Descriptor {d} of the log entry with sequence number {header.Sequence} is malformed.", logOffset + read);
            }
        }

        return buffer;
    }

    private static EntryHeader ReadHeader(byte[] log, int read)
    {
        var span = log.AsSpan(read, EntryHeaderSize);
        return new EntryHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(span),
            BinaryPrimitives.ReadUInt32LittleEndian(span[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[24..]),
            new Guid(span.Slice(32, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(span[48..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[56..]));
    }

    private static int Next(int read, int length) => read + SectorSize >= length ? 0 : read + SectorSize;

    private readonly record struct EntryHeader(uint Signature, uint EntryLength, ulong Sequence, uint DescriptorCount, Guid LogGuid, ulong FlushedFileOffset, ulong LastFileOffset);

    private readonly record struct Sequence(int Start, int End, int Count, ulong FirstSequence);
}
