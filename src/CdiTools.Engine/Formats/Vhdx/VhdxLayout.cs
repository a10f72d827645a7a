using System.Buffers.Binary;
using System.Text;

namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// A VHDX file's structure, read and checked the way qemu 7.2 opens one (block/vhdx.c,
/// vhdx_open): the file identifier, the active one of the two headers, the log (replayed in
/// memory when it holds a valid sequence), the region table, the metadata items and the BAT.
/// Every refusal is an <see cref="ImageException"/> with a stable id starting with Vhdx.
/// </summary>
internal sealed class VhdxLayout
{
    public const int Mebibyte = 1 << 20;
    public const long MaxVirtualSize = 64L << 40;
    public const int HeaderSectionSize = Mebibyte;
    public const int MinBlockSize = Mebibyte;
    public const int MaxBlockSize = 256 * Mebibyte;

    // Larger logs and metadata regions than these are refused rather than held in memory;
    // qemu and Hyper-V write 1 MiB of each.
    public const int MaxLogLength = 64 * Mebibyte;
    public const int MaxMetadataLength = 16 * Mebibyte;

    private const int Header1Offset = 64 * 1024;
    private const int Header2Offset = 128 * 1024;
    private const int HeaderSize = 4096;
    private const int RegionTable1Offset = 192 * 1024;
    private const int RegionTable2Offset = 256 * 1024;
    private const int RegionTableSize = 64 * 1024;
    private const int MetadataTableSize = 64 * 1024;
    private const uint HeaderSignature = 0x64616568; // "head"
    private const uint RegionSignature = 0x69676572; // "regi"
    private const ulong MetadataSignature = 0x617461646174656D; // "metadata"
    private const int MaxRegionEntries = 2047;
    private const int MaxMetadataEntries = 2047;
    private const ulong BatOffsetMask = 0xFFFFFFFFFFF00000;

    private static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    private static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    private static readonly Guid FileParametersItem = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    private static readonly Guid VirtualDiskSizeItem = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    private static readonly Guid Page83Item = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    private static readonly Guid LogicalSectorSizeItem = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    private static readonly Guid PhysicalSectorSizeItem = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    private static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    private readonly List<(long Start, long End, string Name)> regions = [];
    private readonly List<string> notes = [];

    private VhdxLayout()
    {
    }

    public long VirtualSize { get; private set; }

    public int BlockSize { get; private set; }

    public int LogicalSectorSize { get; private set; }

    public int PhysicalSectorSize { get; private set; }

    public bool LeaveBlocksAllocated { get; private set; }

    /// <summary>The payload block entries of the BAT in guest order (sector bitmap entries left out).</summary>
    public ulong[] Blocks { get; private set; } = [];

    public long BlockCount => Blocks.Length;

    /// <summary>The log's writes, laid over everything read from the file.</summary>
    public VhdxOverlay Overlay { get; private set; } = VhdxOverlay.Empty;

    /// <summary>The part of the file the headers, log, region table, metadata and BAT take.</summary>
    public IReadOnlyList<(long Start, long End, string Name)> Regions => regions;

    public ImageDetails Details { get; private set; } = null!;

    /// <summary>Why the disk cannot be converted on its own (it is a differencing VHDX); null when it can.</summary>
    public ImageException? Refusal { get; private set; }

    private string? parentPath;

    public static VhdxBlockState State(ulong entry) => (VhdxBlockState)(entry & 7);

    public static long FileOffset(ulong entry) => (long)(entry & BatOffsetMask);

    /// <summary>The bytes of the disk that guest block <paramref name="block"/> holds (the last one may be short).</summary>
    public int BlockBytes(long block) => (int)Math.Min(BlockSize, VirtualSize - (block * BlockSize));

    public static VhdxLayout Read(IVhdxFile file)
    {
        var layout = new VhdxLayout();
        layout.Parse(file);
        return layout;
    }

    private void Parse(IVhdxFile file)
    {
        var (section, available) = file.ReadRegion(0, HeaderSectionSize);
        if (!section.AsSpan(0, 8).SequenceEqual("vhdxfile"u8))
        {
            throw new ImageException(ImageErrors.VhdxSignatureMissing, "The file does not start with the VHDX file identifier.", 0);
        }

        if (available < RegionTable2Offset + RegionTableSize)
        {
            throw new ImageException(ImageErrors.VhdxTruncated, $"The image ends at {available:N0} bytes, inside its header section.", available);
        }

        var header = ChooseHeader(section);
        var logGuid = new Guid(header.Slice(48, 16));
        var logVersion = BinaryPrimitives.ReadUInt16LittleEndian(header[64..]);
        var logLength = BinaryPrimitives.ReadUInt32LittleEndian(header[68..]);
        var logOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[72..]);

        // qemu checks where the log is before asking whether there is one.
        if (logOffset < Mebibyte || logOffset % Mebibyte != 0 || logOffset > long.MaxValue - uint.MaxValue)
        {
            throw new ImageException(ImageErrors.VhdxLogOffsetInvalid, $"The header puts the log at 0x{logOffset:X}, which is not a multiple of 1 MiB past the header section.", Header1Offset);
        }

        if (logVersion != 0)
        {
            throw new ImageException(ImageErrors.VhdxLogVersionUnsupported, $"The header names log version {logVersion}; only version 0 exists.", Header1Offset);
        }

        regions.Add(((long)logOffset, (long)logOffset + logLength, "the log"));
        file.Announce((long)logOffset, logLength, logGuid != Guid.Empty && logLength != 0);
        if (logGuid != Guid.Empty && logLength != 0)
        {
            ReplayLog(file, (long)logOffset, logLength, logGuid);
        }

        Overlay.Apply(0, section);
        var announce = new List<(long Offset, long Length, bool WillRead)>();
        var (batEntry, metadataEntry) = ReadRegionTable(section, announce);
        foreach (var (offset, length, willRead) in announce)
        {
            file.Announce(offset, length, willRead);
        }

        ReadMetadata(file, metadataEntry);
        ReadBat(file, batEntry);
        Details = new ImageDetails
        {
            Format = "vhdx",
            Subformat = LeaveBlocksAllocated ? "fixed" : "dynamic",
            VirtualSize = VirtualSize,
            ClusterSize = BlockSize,
            FileLength = file.Length,
            BackingFile = parentPath,
            Notes = notes,
        };
    }

    private static Span<byte> ChooseHeader(byte[] section)
    {
        var first = section.AsSpan(Header1Offset, HeaderSize);
        var second = section.AsSpan(Header2Offset, HeaderSize);
        var firstValid = IsValidHeader(first);
        var secondValid = IsValidHeader(second);
        if (!firstValid && !secondValid)
        {
            throw new ImageException(ImageErrors.VhdxHeaderInvalid, "Neither VHDX header is valid (signature, version 1 and CRC-32C checked).", Header1Offset);
        }

        if (firstValid && secondValid)
        {
            var firstSequence = BinaryPrimitives.ReadUInt64LittleEndian(first[8..]);
            var secondSequence = BinaryPrimitives.ReadUInt64LittleEndian(second[8..]);
            if (firstSequence == secondSequence && !first.SequenceEqual(second))
            {
                // Disk2VHD writes two identical headers; two different ones with one number cannot be told apart.
                throw new ImageException(ImageErrors.VhdxHeadersConflict, $"Both VHDX headers are valid, differ, and have the same sequence number {firstSequence}.", Header2Offset);
            }

            return secondSequence > firstSequence ? second : first;
        }

        return firstValid ? first : second;
    }

    private static bool IsValidHeader(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header) == HeaderSignature
        && BinaryPrimitives.ReadUInt16LittleEndian(header[66..]) == 1
        && VhdxCrc32C.IsValid(header, 4);

    private void ReplayLog(IVhdxFile file, long logOffset, uint logLength, Guid logGuid)
    {
        if (logLength % Mebibyte != 0)
        {
            throw new ImageException(ImageErrors.VhdxLogLengthInvalid, $"The log's length {logLength:N0} is not a multiple of 1 MiB.", Header1Offset);
        }

        if (logLength > MaxLogLength)
        {
            throw new ImageException(ImageErrors.VhdxLogTooLarge, $"The log to replay is {logLength:N0} bytes; at most {MaxLogLength:N0} are replayed in memory.", logOffset);
        }

        var (log, _) = file.ReadRegion(logOffset, (int)logLength);
        var overlay = VhdxLog.Replay(log, logOffset, logGuid, file.Length ?? long.MaxValue);
        if (overlay is not null)
        {
            Overlay = overlay;
            notes.Add($"The image's log was replayed in memory ({overlay.SectorCount} sector writes), as qemu-img check -r all would replay it into the file.");
        }
    }

    private (RegionEntry Bat, RegionEntry Metadata) ReadRegionTable(byte[] section, List<(long Offset, long Length, bool WillRead)> announce)
    {
        var table = section.AsSpan(RegionTable1Offset, RegionTableSize);
        if (!IsValidRegionTable(table))
        {
            // qemu reads only the first copy; the specification keeps the second for this case.
            table = section.AsSpan(RegionTable2Offset, RegionTableSize);
            if (!IsValidRegionTable(table))
            {
                throw new ImageException(ImageErrors.VhdxRegionTableInvalid, "Neither copy of the region table is valid (signature, entry count and CRC-32C checked).", RegionTable1Offset);
            }

            notes.Add("The first region table is damaged; the second copy was used.");
        }

        RegionEntry? bat = null;
        RegionEntry? metadata = null;
        var count = BinaryPrimitives.ReadInt32LittleEndian(table[8..]);
        for (var i = 0; i < count; i++)
        {
            var entry = table.Slice(16 + (i * 32), 32);
            var guid = new Guid(entry[..16]);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]);
            var required = (BinaryPrimitives.ReadUInt32LittleEndian(entry[28..]) & 1) != 0;
            if (offset < HeaderSectionSize || offset > long.MaxValue - uint.MaxValue)
            {
                throw new ImageException(ImageErrors.VhdxRegionOverlap, $"Region {guid} at 0x{offset:X} lies in the header section or beyond any file.", RegionTable1Offset);
            }

            var name = guid == BatRegion ? "the BAT" : guid == MetadataRegion ? "the metadata region" : $"region {guid}";
            Register((long)offset, length, name, ImageErrors.VhdxRegionOverlap);
            announce.Add(((long)offset, length, guid == BatRegion || guid == MetadataRegion));
            if (guid == BatRegion || guid == MetadataRegion)
            {
                if ((guid == BatRegion ? bat : metadata) is not null)
                {
                    throw new ImageException(ImageErrors.VhdxRegionTableInvalid, $"The region table lists {name} twice.", RegionTable1Offset);
                }

                if (guid == BatRegion)
                {
                    bat = new RegionEntry((long)offset, length);
                }
                else
                {
                    metadata = new RegionEntry((long)offset, length);
                }
            }
            else if (required)
            {
                throw new ImageException(ImageErrors.VhdxRequiredRegionUnsupported, $"The image requires region {guid}, which is not part of VHDX 1.0.", RegionTable1Offset);
            }
        }

        if (bat is null || metadata is null)
        {
            throw new ImageException(ImageErrors.VhdxRegionTableInvalid, $"The region table has no {(bat is null ? "BAT" : "metadata")} region.", RegionTable1Offset);
        }

        return (bat.Value, metadata.Value);
    }

    private static bool IsValidRegionTable(ReadOnlySpan<byte> table) =>
        BinaryPrimitives.ReadUInt32LittleEndian(table) == RegionSignature
        && BinaryPrimitives.ReadUInt32LittleEndian(table[8..]) <= MaxRegionEntries
        && VhdxCrc32C.IsValid(table, 4);

    private void Register(long start, long length, string name, ImageError errorId)
    {
        var end = start + length;
        foreach (var region in regions)
        {
            if (start < region.End && end > region.Start)
            {
                throw new ImageException(errorId, $"{Capital(name)} (0x{start:X}..0x{end:X}) overlaps {region.Name} (0x{region.Start:X}..0x{region.End:X}).", start);
            }
        }

        regions.Add((start, end, name));
    }

    private void ReadMetadata(IVhdxFile file, RegionEntry region)
    {
        if (region.Length < MetadataTableSize || region.Length > MaxMetadataLength)
        {
            throw new ImageException(ImageErrors.VhdxMetadataInvalid, $"The metadata region is {region.Length:N0} bytes; it must hold its 64 KiB table and be at most {MaxMetadataLength:N0} bytes.", region.Offset);
        }

        var (metadata, _) = file.ReadRegion(region.Offset, (int)region.Length);
        Overlay.Apply(region.Offset, metadata);
        if (BinaryPrimitives.ReadUInt64LittleEndian(metadata) != MetadataSignature)
        {
            throw new ImageException(ImageErrors.VhdxMetadataInvalid, "The metadata region does not start with its signature.", region.Offset);
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(metadata.AsSpan(10));
        if (count > MaxMetadataEntries)
        {
            throw new ImageException(ImageErrors.VhdxMetadataInvalid, $"The metadata table has {count} entries; at most {MaxMetadataEntries} fit.", region.Offset);
        }

        var items = new Dictionary<Guid, (int Offset, int Length)>();
        for (var i = 0; i < count; i++)
        {
            var entry = metadata.AsSpan(32 + (i * 32), 32);
            var guid = new Guid(entry[..16]);
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            var required = (BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]) & 4) != 0;
            var known = guid == FileParametersItem || guid == VirtualDiskSizeItem || guid == Page83Item
                || guid == LogicalSectorSizeItem || guid == PhysicalSectorSizeItem || guid == ParentLocatorItem;
            if (!known)
            {
                if (required)
                {
                    throw new ImageException(ImageErrors.VhdxRequiredMetadataUnsupported, $"The image requires metadata item {guid}, which is not part of VHDX 1.0.", region.Offset + 32 + (i * 32));
                }

                continue;
            }

            if (!items.TryAdd(guid, ((int)Math.Min(offset, int.MaxValue), (int)Math.Min(length, int.MaxValue))))
            {
                throw new ImageException(ImageErrors.VhdxMetadataInvalid, $"The metadata table lists item {guid} twice.", region.Offset + 32 + (i * 32));
            }

            if ((ulong)offset + length > (ulong)region.Length)
            {
                throw new ImageException(ImageErrors.VhdxMetadataInvalid, $"Metadata item {guid} (at {offset:N0}, {length:N0} bytes) lies outside the metadata region.", region.Offset + 32 + (i * 32));
            }
        }

        ReadOnlySpan<byte> Item(Guid guid, string name, int size)
        {
            if (!items.TryGetValue(guid, out var item))
            {
                throw new ImageException(ImageErrors.VhdxMetadataItemMissing, $"The metadata has no {name} item.", region.Offset);
            }

            if (item.Length < size)
            {
                throw new ImageException(ImageErrors.VhdxMetadataInvalid, $"The {name} item is {item.Length} bytes; it needs {size}.", region.Offset + item.Offset);
            }

            return metadata.AsSpan(item.Offset, item.Length);
        }

        var parameters = Item(FileParametersItem, "file parameters", 8);
        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(parameters);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(parameters[4..]);
        Item(Page83Item, "page 83 data", 16);
        if ((flags & 2) != 0 || items.ContainsKey(ParentLocatorItem))
        {
            // Refused when converting, not when opening, so the image can still be described.
            var hasLocator = items.TryGetValue(ParentLocatorItem, out var locator);
            var parent = hasLocator ? ParentPath(metadata.AsSpan(locator.Offset, locator.Length)) : null;
            parentPath = parent;
            Refusal = new ImageException(ImageErrors.VhdxDifferencingUnsupported,
                parent is null
                    ? "The image is a differencing VHDX (it has a parent disk); convert it merged with its parent, with qemu-img or Hyper-V, first."
                    : $"The image is a differencing VHDX whose parent is '{parent}'; convert it merged with its parent, with qemu-img or Hyper-V, first.",
                region.Offset + locator.Offset);
        }

        var virtualSize = BinaryPrimitives.ReadUInt64LittleEndian(Item(VirtualDiskSizeItem, "virtual disk size", 8));
        var logicalSectorSize = BinaryPrimitives.ReadUInt32LittleEndian(Item(LogicalSectorSizeItem, "logical sector size", 4));
        var physicalSectorSize = BinaryPrimitives.ReadUInt32LittleEndian(Item(PhysicalSectorSizeItem, "physical sector size", 4));
        if (blockSize < MinBlockSize || blockSize > MaxBlockSize || !uint.IsPow2(blockSize))
        {
            throw new ImageException(ImageErrors.VhdxBlockSizeInvalid, $"The block size {blockSize:N0} is not a power of two from 1 MiB to 256 MiB.", region.Offset + items[FileParametersItem].Offset);
        }

        if (logicalSectorSize != 512 && logicalSectorSize != 4096)
        {
            throw new ImageException(ImageErrors.VhdxSectorSizeInvalid, $"The logical sector size {logicalSectorSize} is neither 512 nor 4096.", region.Offset + items[LogicalSectorSizeItem].Offset);
        }

        if (virtualSize > MaxVirtualSize)
        {
            throw new ImageException(ImageErrors.VhdxVirtualSizeTooLarge, $"The virtual size {virtualSize:N0} is over the format's 64 TiB.", region.Offset + items[VirtualDiskSizeItem].Offset);
        }

        BlockSize = (int)blockSize;
        LogicalSectorSize = (int)logicalSectorSize;
        PhysicalSectorSize = (int)physicalSectorSize;
        LeaveBlocksAllocated = (flags & 1) != 0;

        if (LogicalSectorSize == 4096)
        {
            // Read as the specification says; qemu-img 7.2 refuses to open such an image at all.
            notes.Add("The image has 4096-byte logical sectors, which qemu-img 7.2 does not open; it was read as MS-VHDX defines them.");
        }

        // qemu sizes the disk in whole logical sectors.
        VirtualSize = (long)virtualSize / logicalSectorSize * logicalSectorSize;
    }

    // The parent locator's key/value pairs are UTF-16 strings; the relative path is the one a
    // user can act on, then the absolute ones.
    private static string? ParentPath(ReadOnlySpan<byte> locator)
    {
        if (locator.Length < 20)
        {
            return null;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(locator[18..]);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count && 20 + ((i + 1) * 12) <= locator.Length; i++)
        {
            var entry = locator.Slice(20 + (i * 12), 12);
            var keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            var valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            var keyLength = BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]);
            var valueLength = BinaryPrimitives.ReadUInt16LittleEndian(entry[10..]);
            if ((ulong)keyOffset + keyLength > (ulong)locator.Length || (ulong)valueOffset + valueLength > (ulong)locator.Length)
            {
                continue;
            }

            values[Encoding.Unicode.GetString(locator.Slice((int)keyOffset, keyLength))] = Encoding.Unicode.GetString(locator.Slice((int)valueOffset, valueLength));
        }

        foreach (var key in (string[])["relative_path", "absolute_win32_path", "volume_path"])
        {
            if (values.TryGetValue(key, out var path) && path.Length > 0)
            {
                return path;
            }
        }

        return null;
    }

    private void ReadBat(IVhdxFile file, RegionEntry region)
    {
        var dataBlocks = (VirtualSize + BlockSize - 1) / BlockSize;
        var chunkRatio = (1L << 23) * LogicalSectorSize / BlockSize;
        var entries = dataBlocks == 0 ? 0 : dataBlocks + ((dataBlocks - 1) / chunkRatio);
        if (entries > region.Length / 8)
        {
            throw new ImageException(ImageErrors.VhdxBatTooSmall, $"The BAT region holds {region.Length / 8:N0} entries; a disk of {VirtualSize:N0} bytes in {BlockSize:N0}-byte blocks needs {entries:N0}.", region.Offset);
        }

        var batBytes = (int)(entries * 8);
        var fileLength = file.Length is { } length ? Overlay.ExtendLength(length) : (long?)null;
        if (fileLength is { } known && region.Offset + batBytes > known)
        {
            throw new ImageException(ImageErrors.VhdxBatBeyondEndOfFile, $"The BAT (0x{region.Offset:X}, {batBytes:N0} bytes) runs past the end of the {known:N0}-byte file.", region.Offset);
        }

        var (bat, available) = file.ReadRegion(region.Offset, batBytes);
        if (available < batBytes)
        {
            throw new ImageException(ImageErrors.VhdxBatBeyondEndOfFile, $"The image ends inside the BAT (0x{region.Offset:X}, {batBytes:N0} bytes).", region.Offset + available);
        }

        Overlay.Apply(region.Offset, bat);
        var blocks = new ulong[dataBlocks];
        for (long block = 0; block < dataBlocks; block++)
        {
            var index = block + (block / chunkRatio);
            var entry = BinaryPrimitives.ReadUInt64LittleEndian(bat.AsSpan((int)(index * 8)));
            var entryOffset = region.Offset + (index * 8);
            blocks[block] = entry;
            switch (State(entry))
            {
                case VhdxBlockState.NotPresent:
                case VhdxBlockState.Undefined:
                case VhdxBlockState.Zero:
                case VhdxBlockState.Unmapped:
                case VhdxBlockState.UnmappedV095:
                    break;
                case VhdxBlockState.FullyPresent:
                    CheckPayload(block, FileOffset(entry), entryOffset, fileLength);
                    break;
                case VhdxBlockState.PartiallyPresent when Refusal is not null:
                    break;
                case VhdxBlockState.PartiallyPresent:
                    throw new ImageException(ImageErrors.VhdxBlockStateInvalid, $"Block {block} is partially present, which only a differencing VHDX may have.", entryOffset);
                default:
                    throw new ImageException(ImageErrors.VhdxBlockStateInvalid, $"Block {block} has the undefined state {(int)State(entry)}.", entryOffset);
            }
        }

        Blocks = blocks;
    }

    private void CheckPayload(long block, long offset, long entryOffset, long? fileLength)
    {
        if (offset < HeaderSectionSize)
        {
            throw new ImageException(ImageErrors.VhdxBlockOverlapsRegion, $"Block {block} is mapped to 0x{offset:X}, inside the header section.", entryOffset);
        }

        if (offset > long.MaxValue - BlockSize)
        {
            throw new ImageException(ImageErrors.VhdxBlockBeyondEndOfFile, $"Block {block} is mapped beyond any file (0x{offset:X}).", entryOffset);
        }

        if (fileLength is { } length && offset + BlockBytes(block) > length)
        {
            throw new ImageException(ImageErrors.VhdxBlockBeyondEndOfFile, $"Block {block} (0x{offset:X}..0x{offset + BlockBytes(block):X}) runs past the end of the {length:N0}-byte file; the image was probably truncated.", entryOffset);
        }

        foreach (var region in regions)
        {
            if (offset < region.End && offset + BlockSize > region.Start)
            {
                throw new ImageException(ImageErrors.VhdxBlockOverlapsRegion, $"Block {block} (0x{offset:X}) overlaps {region.Name}.", entryOffset);
            }
        }
    }

    private static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private readonly record struct RegionEntry(long Offset, long Length);
}

/// <summary>A BAT entry's state (bits 0-2), as MS-VHDX and qemu name them.</summary>
internal enum VhdxBlockState
{
    NotPresent = 0,
    Undefined = 1,
    Zero = 2,
    Unmapped = 3,
    UnmappedV095 = 5,
    FullyPresent = 6,
    PartiallyPresent = 7,
}
