using System.Buffers;
using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// Converts a sparse VMDK extent read forward once (after a decompressor, inside a tar, from a
/// server without ranges). Two layouts stream:
/// <list type="bullet">
/// <item>Tables first (monolithicSparse, and streamOptimized as qemu-img writes it): the grain
/// directory and tables precede the grains, so the disk is written in guest order as grains come
/// by. A grain that lies before one the disk needs earlier is kept (memory, then scratch).</item>
/// <item>Markers first (streamOptimized with the directory at the end, as ESXi writes it): each
/// grain's marker gives its disk address, so grains go straight to the disk in the order they come;
/// the grain tables and directory that follow are then checked to map exactly those grains, so the
/// result is the one qemu reads through the tables, or a refusal.</item>
/// </list>
/// </summary>
internal sealed class VmdkStreamDriver : IImageDriver
{
    private const int SkipBufferSize = 1 << 16;

    private readonly Stream stream;
    private readonly VmdkHeader header;
    private readonly VmdkDescriptor descriptor;
    private readonly ImageOpenOptions options;
    private readonly int grainSize;
    private readonly long grains;
    private readonly byte[] skipBuffer = new byte[SkipBufferSize];
    private BlockStore? kept;
    private long tablesSpilled;
    private long position;

    public VmdkStreamDriver(Stream stream, long? fileLength, ImageOpenOptions options)
    {
        this.stream = stream;
        this.options = options;
        var sector = new byte[VmdkHeader.Length];
        var read = ReadFull(sector);
        header = VmdkHeader.Parse(sector.AsSpan(0, read), fileLength);
        if (header.IsDescriptorOnly)
        {
            throw new ImageException(ImageErrors.VmdkExtentInvalid, "The VMDK header holds only a descriptor; nested descriptors are not supported.", 0);
        }

        grainSize = header.GrainSize;
        grains = (header.VirtualSize + grainSize - 1) / grainSize;

        // The descriptor comes right after the header; read no further than the tables or grains that may follow it.
        var (offset, length) = VmdkFormat.DescriptorRange(header);
        var end = offset + length;
        foreach (var next in new[] { header.RedundantDirectoryOffset, header.DirectoryOffset, header.GrainOffset })
        {
            if (next > offset && next < end)
            {
                end = next;
            }
        }

        var text = new byte[end - offset];
        SkipTo(offset);
        read = ReadFull(text);
        descriptor = VmdkDescriptor.Parse(text.AsSpan(0, read), offset);
        Details = VmdkFormat.Describe(header, descriptor, fileLength, null);
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal => descriptor.ParentRefusal(header.DescriptorOffset);

    public long ScratchBytes => tablesSpilled + (kept?.SpilledBytes ?? 0);

    public long KeptBytes => kept?.PeakHeldBytes ?? 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        if (header.Compressed && !header.HasMarkers)
        {
            throw new ImageException(ImageErrors.VmdkForwardOrderUnsupported, "Compressed grains without markers do not say where they end; this VMDK needs random access (a local file or a server with ranges).", 8);
        }

        using var inflater = VmdkGrainInflater.Create(options.PreferNativeDecoders);
        if (header.DirectoryAtEnd || (header.HasMarkers && header.DirectoryOffset >= header.GrainOffset))
        {
            if (!header.HasMarkers)
            {
                throw new ImageException(ImageErrors.VmdkForwardOrderUnsupported, "The grain directory is at the end and there are no markers to place the grains before it; this VMDK needs random access.", 56);
            }

            ConvertByMarkers(output, inflater, cancellationToken);
        }
        else
        {
            ConvertTablesFirst(output, inflater, cancellationToken);
        }

        // Read to the end: the layers below check their own integrity only when they reach it.
        while (stream.Read(skipBuffer) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Dispose()
    {
        kept?.Dispose();
        stream.Dispose();
    }

    private int GuestBytes(long grain) => (int)Math.Min(grainSize, header.VirtualSize - (grain * grainSize));

    private bool IsZero(uint entry) => entry == 0 || (entry == 1 && header.HasZeroGrains);

    private void ConvertTablesFirst(RawOutput output, VmdkGrainInflater inflater, CancellationToken cancellationToken)
    {
        var directory = ReadDirectory(header.DirectoryOffset, header.DirectoryEntries);
        using var tables = new BlockStore(header.TableBytes, options.MemoryBudget, options.ScratchDirectory, ImageErrors.VmdkOffsetBeyondEndOfFile);
        var tableBytes = new byte[header.TableBytes];
        var order = Enumerable.Range(0, directory.Length).Where(i => directory[i] != 0).OrderBy(i => directory[i]).ToList();
        for (var i = 0; i < order.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var index = order[i];
            if (i == 0 || directory[order[i - 1]] != directory[index])
            {
                ReadAt((long)directory[index] * VmdkHeader.Sector, tableBytes, $"grain table {index}");
            }

            tables.Add(index, tableBytes, unknown: false, isData: false);
        }

        // Grains usually follow in the order the disk needs them. Those that lie before one the
        // disk needs earlier (or that several grains share) are kept when they come by.
        var tablesEnd = position;
        var lateUses = new Dictionary<long, int>();
        var table = new uint[header.GrainTableEntries];
        var loadedTable = -1;
        var highest = -1L;
        for (long grain = 0; grain < grains; grain++)
        {
            var entry = Entry(grain, directory, tables, table, ref loadedTable, tableBytes);
            if (IsZero(entry))
            {
                continue;
            }

            var host = (long)entry * VmdkHeader.Sector;
            if (host < tablesEnd)
            {
                throw new ImageException(ImageErrors.VmdkForwardOrderUnsupported, $"Grain {grain} lies at 0x{host:X}, before the end of the grain tables (0x{tablesEnd:X}); this VMDK needs random access.", host);
            }

            if (host <= highest)
            {
                lateUses[host] = lateUses.GetValueOrDefault(host) + 1;
            }
            else
            {
                highest = host;
            }
        }

        var lateHosts = lateUses.Keys.Order().ToArray();
        var nextLate = 0;
        if (lateHosts.Length > 0)
        {
            kept = new BlockStore(grainSize, options.MemoryBudget, options.ScratchDirectory, header.Compressed ? ImageErrors.VmdkCompressedGrainCorrupt : ImageErrors.VmdkOffsetBeyondEndOfFile);
        }

        var compressed = ArrayPool<byte>.Shared.Rent((2 * grainSize) + VmdkMarker.GrainHeaderLength);
        var spare = lateHosts.Length > 0 ? new byte[grainSize] : null;
        try
        {
            loadedTable = -1;
            for (long grain = 0; grain < grains; grain++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tableIndex = (int)(grain / header.GrainTableEntries);
                if (directory[tableIndex] == 0)
                {
                    var left = header.GrainTableEntries - (grain % header.GrainTableEntries);
                    var last = Math.Min(grains, grain + left);
                    output.WriteZeros(Math.Min((last - grain) * grainSize, header.VirtualSize - (grain * grainSize)));
                    grain = last - 1;
                    continue;
                }

                var entry = Entry(grain, directory, tables, table, ref loadedTable, tableBytes);
                var needed = GuestBytes(grain);
                if (IsZero(entry))
                {
                    output.WriteZeros(needed);
                    continue;
                }

                var host = (long)entry * VmdkHeader.Sector;
                var span = output.GetSpan(grainSize);
                if (kept is not null && kept.Contains(host))
                {
                    kept.TryRead(host, span[..needed]);
                    if (--lateUses[host] == 0)
                    {
                        kept.Remove(host);
                    }

                    output.Advance(needed);
                    continue;
                }

                if (host < position)
                {
                    throw new ImageException(ImageErrors.VmdkForwardOrderUnsupported, $"Grain {grain} at 0x{host:X} overlaps data already read; this VMDK needs random access.", host);
                }

                // Keep the grains passed on the way that the disk needs later.
                while (nextLate < lateHosts.Length && lateHosts[nextLate] < host)
                {
                    var late = lateHosts[nextLate++];
                    var length = ReadGrain(late, spare!, 0, compressed, inflater);
                    kept!.Add(late, spare.AsSpan(0, length), unknown: false);
                }

                var produced = ReadGrain(host, span[..grainSize], needed, compressed, inflater);
                if (nextLate < lateHosts.Length && lateHosts[nextLate] == host)
                {
                    kept!.Add(host, span[..produced], unknown: false);
                    nextLate++;
                }

                output.Advance(needed);
            }
        }
        finally
        {
            // Grain tables spill too when all of them exceed the memory budget (disks over a TiB).
            tablesSpilled = tables.SpilledBytes;
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private uint Entry(long grain, uint[] directory, BlockStore tables, uint[] table, ref int loadedTable, byte[] tableBytes)
    {
        var tableIndex = (int)(grain / header.GrainTableEntries);
        if (directory[tableIndex] == 0)
        {
            return 0;
        }

        if (loadedTable != tableIndex)
        {
            tables.TryRead(tableIndex, tableBytes);
            for (var i = 0; i < table.Length; i++)
            {
                table[i] = BinaryPrimitives.ReadUInt32LittleEndian(tableBytes.AsSpan(i * 4));
            }

            loadedTable = tableIndex;
        }

        return table[grain % header.GrainTableEntries];
    }

    // Reads the grain at `host` into `destination` (a whole grain's room); returns the bytes it holds.
    private int ReadGrain(long host, Span<byte> destination, int needed, byte[] compressed, VmdkGrainInflater inflater)
    {
        SkipTo(host);
        if (!header.Compressed)
        {
            // A grain kept for later is read whole; BlockStore refuses a short one when it is used.
            var count = needed > 0 ? needed : grainSize;
            var read = ReadFull(destination[..count]);
            if (read == 0 || (needed > 0 && read < needed))
            {
                throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends inside the grain at 0x{host:X}.", position);
            }

            return read;
        }

        var size = ReadMarkerSize(host, compressed);
        return inflater.Inflate(compressed.AsSpan(0, size), destination[..grainSize], needed, host);
    }

    // Reads a grain marker at the current position and its compressed data into `compressed`; returns the data's size.
    private int ReadMarkerSize(long host, byte[] compressed)
    {
        Span<byte> marker = stackalloc byte[VmdkMarker.GrainHeaderLength];
        if (ReadFull(marker) < marker.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends inside the grain marker at 0x{host:X}.", position);
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(marker[8..]);
        if (size == 0 || size > 2L * grainSize)
        {
            throw new ImageException(ImageErrors.VmdkCompressedGrainCorrupt, $"The grain marker at 0x{host:X} gives a compressed size of {size} bytes (1 to {2 * grainSize} allowed).", host + 8);
        }

        if (ReadFull(compressed.AsSpan(0, (int)size)) < size)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends inside the compressed grain at 0x{host:X}.", position);
        }

        return (int)size;
    }

    private void ConvertByMarkers(RawOutput output, VmdkGrainInflater inflater, CancellationToken cancellationToken)
    {
        SkipTo(header.GrainOffset);
        var compressed = ArrayPool<byte>.Shared.Rent(2 * grainSize);
        var metadata = new byte[VmdkHeader.Sector - VmdkMarker.GrainHeaderLength];
        var markerBytes = new byte[VmdkMarker.GrainHeaderLength];

        // Grains written but not yet found in a grain table: sector -> grain; then each table's
        // sector -> the directory index its grains say it has (-1 for a table with no grains).
        var unmapped = new Dictionary<long, long>();
        var tablesSeen = new Dictionary<long, int>();
        uint[]? directory = null;
        long directoryOffset = -1;
        long emitted = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                SkipTo((position + VmdkHeader.Sector - 1) / VmdkHeader.Sector * VmdkHeader.Sector);
                var markerOffset = position;
                var marker = markerBytes.AsSpan();
                if (ReadFull(marker) < marker.Length)
                {
                    throw new ImageException(ImageErrors.VmdkStreamTruncated, $"The stream-optimized image ends at {markerOffset:N0} bytes without an end-of-stream marker.", markerOffset);
                }

                var value = BinaryPrimitives.ReadUInt64LittleEndian(marker);
                var size = BinaryPrimitives.ReadUInt32LittleEndian(marker[8..]);
                if (size != 0)
                {
                    if (value % (ulong)header.GrainSectors != 0 || value >= (ulong)header.Capacity)
                    {
                        throw new ImageException(ImageErrors.VmdkMarkerInvalid, $"The grain marker at 0x{markerOffset:X} gives sector {value}, which is not the start of a grain of the {header.Capacity}-sector disk.", markerOffset);
                    }

                    var grain = (long)(value / (ulong)header.GrainSectors);
                    if (grain < emitted)
                    {
                        throw new ImageException(ImageErrors.VmdkGrainOutOfOrder, $"The grain for sector {value} at 0x{markerOffset:X} comes after grains further on the disk; read forward, grains must come in disk order (random access reads any order).", markerOffset);
                    }

                    if (size > 2L * grainSize)
                    {
                        throw new ImageException(ImageErrors.VmdkCompressedGrainCorrupt, $"The grain marker at 0x{markerOffset:X} gives a compressed size of {size} bytes (1 to {2 * grainSize} allowed).", markerOffset + 8);
                    }

                    if (ReadFull(compressed.AsSpan(0, (int)size)) < size)
                    {
                        throw new ImageException(ImageErrors.VmdkStreamTruncated, $"The image ends inside the compressed grain at 0x{markerOffset:X}.", position);
                    }

                    output.WriteZeros((grain - emitted) * (long)grainSize);
                    var needed = GuestBytes(grain);
                    inflater.Inflate(compressed.AsSpan(0, (int)size), output.GetSpan(grainSize)[..grainSize], needed, markerOffset);
                    output.Advance(needed);
                    emitted = grain + 1;
                    unmapped[markerOffset / VmdkHeader.Sector] = grain;
                    continue;
                }

                if (ReadFull(metadata) < metadata.Length)
                {
                    throw new ImageException(ImageErrors.VmdkStreamTruncated, $"The image ends inside the marker at 0x{markerOffset:X}.", position);
                }

                var type = BinaryPrimitives.ReadUInt32LittleEndian(metadata);
                var dataOffset = position;
                switch (type)
                {
                    case VmdkMarker.EndOfStream:
                        FinishMarkers(unmapped, tablesSeen, directory, directoryOffset);
                        output.WriteZeros(header.VirtualSize - output.Position);
                        return;

                    case VmdkMarker.GrainTable:
                        CheckMetadataLength(value, header.TableBytes, markerOffset, "grain table");
                        var table = new byte[(int)value * VmdkHeader.Sector];
                        ReadAt(dataOffset, table, "a grain table", ImageErrors.VmdkStreamTruncated);
                        tablesSeen[dataOffset / VmdkHeader.Sector] = MatchTable(table, unmapped, dataOffset);
                        break;

                    case VmdkMarker.GrainDirectory:
                        CheckMetadataLength(value, (long)header.DirectoryEntries * 4, markerOffset, "grain directory");
                        directory = ReadDirectory(dataOffset, header.DirectoryEntries, ImageErrors.VmdkStreamTruncated);
                        directoryOffset = dataOffset;
                        break;

                    case VmdkMarker.Footer:
                        var footerBytes = new byte[(int)Math.Max(value, 1) * VmdkHeader.Sector];
                        ReadAt(dataOffset, footerBytes, "the footer", ImageErrors.VmdkStreamTruncated);
                        CheckFooter(VmdkHeader.Parse(footerBytes.AsSpan(0, VmdkHeader.Length), null, dataOffset), dataOffset, directoryOffset);
                        break;

                    default:
                        throw new ImageException(ImageErrors.VmdkMarkerInvalid, $"The marker at 0x{markerOffset:X} has type {type}; stream-optimized VMDKs define 0 to 3.", markerOffset + 12);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private static void CheckMetadataLength(ulong sectors, long needed, long markerOffset, string what)
    {
        var minimum = (needed + VmdkHeader.Sector - 1) / VmdkHeader.Sector;
        if (sectors < (ulong)minimum || sectors > (ulong)minimum + 1)
        {
            throw new ImageException(ImageErrors.VmdkMarkerInvalid, $"The {what} marker at 0x{markerOffset:X} gives {sectors} sectors; the header needs {minimum}.", markerOffset);
        }
    }

    // A table must map each of its grains to a grain that came by, at that grain's place in the
    // table; returns the directory index its grains give it.
    private int MatchTable(byte[] table, Dictionary<long, long> unmapped, long tableOffset)
    {
        var index = -1;
        for (var i = 0; i < header.GrainTableEntries; i++)
        {
            var entry = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i * 4));
            if (IsZero(entry))
            {
                continue;
            }

            if (!unmapped.Remove(entry, out var grain) || grain % header.GrainTableEntries != i || (index >= 0 && grain / header.GrainTableEntries != index))
            {
                throw new ImageException(ImageErrors.VmdkGrainTableMismatch, $"The grain table at 0x{tableOffset:X} maps entry {i} to sector {entry}, where no grain marker for that place came before it.", tableOffset + (i * 4L));
            }

            index = (int)(grain / header.GrainTableEntries);
        }

        return index;
    }

    private void FinishMarkers(Dictionary<long, long> unmapped, Dictionary<long, int> tablesSeen, uint[]? directory, long directoryOffset)
    {
        if (directory is null)
        {
            throw new ImageException(ImageErrors.VmdkGrainDirectoryMissing, "The stream-optimized image ends without the grain directory that maps its grains.", position);
        }

        if (unmapped.Count > 0)
        {
            var (sector, grain) = unmapped.MinBy(u => u.Key);
            throw new ImageException(ImageErrors.VmdkGrainTableMismatch, $"The grain at sector {sector} (disk sector {grain * header.GrainSectors}) is in no grain table, so qemu reads zeros there.", sector * VmdkHeader.Sector);
        }

        for (var i = 0; i < directory.Length; i++)
        {
            if (directory[i] != 0 && (!tablesSeen.TryGetValue(directory[i], out var index) || (index >= 0 && index != i)))
            {
                throw new ImageException(ImageErrors.VmdkGrainTableMismatch, $"Grain directory entry {i} names sector {directory[i]}, which holds no grain table for that part of the disk.", directoryOffset + (i * 4L));
            }
        }

        foreach (var (sector, index) in tablesSeen)
        {
            if (index >= 0 && directory[index] != sector)
            {
                throw new ImageException(ImageErrors.VmdkGrainTableMismatch, $"The grain table at sector {sector} maps grains that grain directory entry {index} does not name.", directoryOffset + (index * 4L));
            }
        }
    }

    private void CheckFooter(VmdkHeader footer, long footerOffset, long directoryOffset)
    {
        if (footer.Capacity != header.Capacity || footer.GrainSectors != header.GrainSectors || footer.GrainTableEntries != header.GrainTableEntries || footer.Compressed != header.Compressed)
        {
            throw new ImageException(ImageErrors.VmdkFooterMismatch, "The footer's capacity, grain size or compression differ from the header's.", footerOffset);
        }

        if (footer.DirectoryAtEnd || (directoryOffset >= 0 && footer.DirectoryOffset != directoryOffset))
        {
            throw new ImageException(ImageErrors.VmdkFooterInvalid, $"The footer gives the grain directory at 0x{footer.DirectoryOffset:X}, not where its marker put it (0x{directoryOffset:X}).", footerOffset + 56);
        }
    }

    // The directory can be large (up to 128 MiB); it grows as its bytes arrive, so a header that
    // claims a huge one on a short stream costs no more memory than the stream brings.
    private uint[] ReadDirectory(long offset, int entries, ImageError? errorId = null)
    {
        SkipTo(offset);
        var directory = new List<uint>(Math.Min(entries, 1 << 16));
        Span<byte> piece = skipBuffer;
        while (directory.Count < entries)
        {
            var count = Math.Min(piece.Length / 4, entries - directory.Count);
            if (ReadFull(piece[..(count * 4)]) < count * 4)
            {
                throw new ImageException(errorId ?? ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends inside its grain directory at 0x{offset:X}.", position);
            }

            for (var i = 0; i < count; i++)
            {
                directory.Add(BinaryPrimitives.ReadUInt32LittleEndian(piece[(i * 4)..]));
            }
        }

        return [.. directory];
    }

    private void ReadAt(long offset, Span<byte> destination, string what, ImageError? errorId = null)
    {
        SkipTo(offset);
        if (ReadFull(destination) < destination.Length)
        {
            throw new ImageException(errorId ?? ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends inside {what} at 0x{offset:X}.", position);
        }
    }

    private void SkipTo(long offset)
    {
        if (offset < position)
        {
            throw new ImageException(ImageErrors.VmdkForwardOrderUnsupported, $"Reading forward, the data at 0x{offset:X} was already passed (at 0x{position:X}); this VMDK needs random access.", offset);
        }

        while (position < offset)
        {
            var count = (int)Math.Min(skipBuffer.Length, offset - position);
            if (ReadFull(skipBuffer.AsSpan(0, count)) < count)
            {
                throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The image ends at {position:N0} bytes, before offset 0x{offset:X}.", position);
            }
        }
    }

    // Fewer bytes than asked only at the end of the input.
    private int ReadFull(Span<byte> buffer)
    {
        var total = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        position += total;
        return total;
    }
}
