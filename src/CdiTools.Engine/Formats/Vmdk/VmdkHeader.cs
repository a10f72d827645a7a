using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// The header of a hosted sparse extent (magic KDMV, versions 1 to 3): grain size, grain
/// directory and tables, compression and markers. Checked the way qemu checks it when it opens
/// one (block/vmdk.c, vmdk_open_vmdk4 and vmdk_add_extent), before anything is allocated from
/// its fields, and more strictly where qemu lets a broken image through.
/// </summary>
internal sealed class VmdkHeader
{
    public const int Sector = 512;
    public const int Length = 512;

    /// <summary>qemu refuses a grain directory of more entries ("L1 size too big").</summary>
    public const long MaxGrainDirectoryEntries = 32L << 20;

    /// <summary>qemu refuses more entries per grain table ("L2 table size too big").</summary>
    public const int MaxGrainTableEntries = 512;

    /// <summary>Stricter than qemu's 1 GiB: grains are 64 KiB in practice, and one grain must fit an output buffer.</summary>
    public const int MaxGrainSize = 2 << 20;

    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    public const uint FlagNewlineDetect = 1u << 0;
    public const uint FlagRedundantDirectory = 1u << 1;
    public const uint FlagZeroGrain = 1u << 2;
    public const uint FlagCompressed = 1u << 16;
    public const uint FlagMarkers = 1u << 17;

    private VmdkHeader()
    {
    }

    public int Version { get; private init; }

    public uint Flags { get; private init; }

    /// <summary>The extent's size in sectors.</summary>
    public long Capacity { get; private init; }

    public int GrainSectors { get; private init; }

    public int GrainSize => GrainSectors * Sector;

    public long DescriptorOffset { get; private init; }

    public long DescriptorSize { get; private init; }

    public int GrainTableEntries { get; private init; }

    public long RedundantDirectoryOffset { get; private init; }

    /// <summary>The grain directory's byte offset; for a stream-optimized extent with the
    /// directory at the end, -1 until its footer is read (<see cref="FromFooter"/>).</summary>
    public long DirectoryOffset { get; private init; }

    public bool DirectoryAtEnd { get; private init; }

    public long GrainOffset { get; private init; }

    public int CompressAlgorithm { get; private init; }

    public bool Compressed => CompressAlgorithm == 1;

    public bool HasMarkers => (Flags & FlagMarkers) != 0;

    public bool HasZeroGrains => (Flags & FlagZeroGrain) != 0;

    public bool HasRedundantDirectory => (Flags & FlagRedundantDirectory) != 0;

    /// <summary>Entries of the grain directory (one per grain table).</summary>
    public int DirectoryEntries { get; private init; }

    /// <summary>Guest bytes one grain table maps.</summary>
    public long TableSpan => (long)GrainTableEntries * GrainSize;

    public int TableBytes => GrainTableEntries * 4;

    public long VirtualSize => Capacity * Sector;

    /// <summary>True for a header that only points at an embedded text descriptor (capacity 0), which
    /// qemu then opens as a descriptor file.</summary>
    public bool IsDescriptorOnly { get; private init; }

    public static bool HasMagic(ReadOnlySpan<byte> head) => head.Length >= 4 && head[..4].SequenceEqual("KDMV"u8);

    /// <param name="sector">The first 512 bytes of the extent (or the footer's header copy).</param>
    /// <param name="fileLength">The extent file's length when known.</param>
    /// <param name="baseOffset">Where <paramref name="sector"/> lies in the file, for error offsets.</param>
    public static VmdkHeader Parse(ReadOnlySpan<byte> sector, long? fileLength, long baseOffset = 0)
    {
        if (sector.Length < 79)
        {
            throw new ImageException(ImageErrors.VmdkHeaderTruncated, $"The image ends after {sector.Length} bytes, inside its VMDK header.", baseOffset + sector.Length);
        }

        if (!HasMagic(sector))
        {
            throw new ImageException(ImageErrors.VmdkBadMagic, "The VMDK extent does not start with the magic KDMV.", baseOffset);
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(sector[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(sector[8..]);
        var capacity = BinaryPrimitives.ReadUInt64LittleEndian(sector[12..]);
        var granularity = BinaryPrimitives.ReadUInt64LittleEndian(sector[20..]);
        var descriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(sector[28..]);
        var descriptorSize = BinaryPrimitives.ReadUInt64LittleEndian(sector[36..]);
        var tableEntries = BinaryPrimitives.ReadUInt32LittleEndian(sector[44..]);
        var redundantOffset = BinaryPrimitives.ReadUInt64LittleEndian(sector[48..]);
        var directoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(sector[56..]);
        var grainOffset = BinaryPrimitives.ReadUInt64LittleEndian(sector[64..]);
        var compressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(sector[77..]);

        if (capacity == 0 && descriptorOffset != 0)
        {
            return new VmdkHeader { Version = (int)Math.Min(version, int.MaxValue), DescriptorOffset = CheckedSectors(descriptorOffset, baseOffset + 28), IsDescriptorOnly = true };
        }

        // qemu: "Unsupported VMDK version"; version 3 (changed block tracking) reads like 1.
        if (version > 3)
        {
            throw new ImageException(ImageErrors.VmdkUnsupportedVersion, $"VMDK version {version} is not supported; versions 1 to 3 are.", baseOffset + 4);
        }

        if (compressAlgorithm > 1)
        {
            throw new ImageException(ImageErrors.VmdkUnsupportedCompression, $"Compression algorithm {compressAlgorithm} is unknown; VMDK defines 0 (none) and 1 (deflate).", baseOffset + 77);
        }

        if (tableEntries > MaxGrainTableEntries)
        {
            throw new ImageException(ImageErrors.VmdkGrainTableTooLarge, $"A grain table of {tableEntries} entries is more than the {MaxGrainTableEntries} qemu accepts (L2 table size too big).", baseOffset + 44);
        }

        if (granularity == 0 || tableEntries == 0)
        {
            throw new ImageException(ImageErrors.VmdkGrainSizeInvalid, $"A grain of {granularity} sectors with {tableEntries} entries per grain table maps nothing (L1 entry size is invalid).", baseOffset + (granularity == 0 ? 20 : 44));
        }

        if (granularity > MaxGrainSize / Sector)
        {
            throw new ImageException(ImageErrors.VmdkGrainSizeInvalid, $"A grain of {granularity} sectors is larger than {MaxGrainSize / Sector} sectors.", baseOffset + 20);
        }

        // The directory's size follows from the capacity; refuse a huge one before allocating it,
        // as qemu does ("L1 size too big"), which is what crafted memory-exhaustion images try.
        var tableSectors = tableEntries * granularity;
        var directoryEntries = (capacity / tableSectors) + (capacity % tableSectors == 0 ? 0UL : 1UL);
        if (directoryEntries > MaxGrainDirectoryEntries)
        {
            throw new ImageException(ImageErrors.VmdkGrainDirectoryTooLarge, $"The grain directory would need {directoryEntries:N0} entries, more than the {MaxGrainDirectoryEntries:N0} qemu accepts (L1 size too big).", baseOffset + 12);
        }

        if (capacity > (ulong)(long.MaxValue / Sector))
        {
            throw new ImageException(ImageErrors.VmdkCapacityTooLarge, $"A capacity of {capacity} sectors does not fit a disk.", baseOffset + 12);
        }

        var header = new VmdkHeader
        {
            Version = (int)version,
            Flags = flags,
            Capacity = (long)capacity,
            GrainSectors = (int)granularity,
            DescriptorOffset = CheckedSectors(descriptorOffset, baseOffset + 28),
            DescriptorSize = CheckedSectors(descriptorSize, baseOffset + 36),
            GrainTableEntries = (int)tableEntries,
            RedundantDirectoryOffset = (flags & FlagRedundantDirectory) != 0 ? CheckedSectors(redundantOffset, baseOffset + 48) : 0,
            DirectoryAtEnd = directoryOffset == GrainDirectoryAtEnd,
            DirectoryOffset = directoryOffset == GrainDirectoryAtEnd ? -1 : CheckedSectors(directoryOffset, baseOffset + 56),
            GrainOffset = CheckedSectors(grainOffset, baseOffset + 64),
            CompressAlgorithm = compressAlgorithm,
            DirectoryEntries = (int)directoryEntries,
        };

        // qemu: "File truncated, expecting at least ... bytes".
        if (fileLength is { } length && header.GrainOffset > length)
        {
            throw new ImageException(ImageErrors.VmdkFileTruncated, $"The extent is {length:N0} bytes; its grains start at {header.GrainOffset:N0}.", baseOffset + 64);
        }

        header.CheckDirectory(fileLength, baseOffset + 56);
        return header;
    }

    /// <summary>The footer's header, which qemu takes in place of the first one when that says the directory is at the end.</summary>
    public static VmdkHeader FromFooter(VmdkHeader footer, long footerOffset)
    {
        if (footer.DirectoryAtEnd || footer.IsDescriptorOnly)
        {
            throw new ImageException(ImageErrors.VmdkFooterInvalid, "The footer does not give the grain directory's offset.", footerOffset + 56);
        }

        return footer;
    }

    /// <summary>Checks the grain directory lies inside the file, before it is read.</summary>
    public void CheckDirectory(long? fileLength, long fieldOffset)
    {
        if (DirectoryAtEnd)
        {
            return;
        }

        if (DirectoryOffset == 0 && DirectoryEntries > 0)
        {
            throw new ImageException(ImageErrors.VmdkGrainDirectoryInvalid, "The grain directory offset is 0, inside the header.", fieldOffset);
        }

        if (fileLength is { } length && DirectoryOffset + ((long)DirectoryEntries * 4) > length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The grain directory at 0x{DirectoryOffset:X} ({DirectoryEntries:N0} entries) lies beyond the end of the {length:N0}-byte extent.", fieldOffset);
        }
    }

    public IReadOnlyList<string> FeatureNames()
    {
        var names = new List<string>();
        if (HasRedundantDirectory)
        {
            names.Add("redundant grain directory");
        }

        if (HasZeroGrains)
        {
            names.Add("zeroed grains");
        }

        if (Compressed)
        {
            names.Add("compressed grains");
        }

        if (HasMarkers)
        {
            names.Add("markers");
        }

        return names;
    }

    private static long CheckedSectors(ulong sectors, long fieldOffset)
    {
        if (sectors > (ulong)(long.MaxValue / Sector))
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The offset of {sectors} sectors lies beyond any file.", fieldOffset);
        }

        return (long)sectors * Sector;
    }
}
