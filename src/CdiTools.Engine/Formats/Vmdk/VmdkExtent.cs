using System.Buffers.Binary;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>One extent of a VMDK disk, read at random offsets: a flat file or a hosted sparse extent.</summary>
internal abstract class VmdkExtent(IRandomAccessSource source, bool ownsSource, long sectors, string name) : IDisposable
{
    public IRandomAccessSource Source { get; } = source;

    /// <summary>The guest sectors the extent holds.</summary>
    public long Sectors { get; } = sectors;

    /// <summary>How errors name the extent: its file name, or "the image" for a monolithic one.</summary>
    public string Name { get; } = name;

    public void Dispose()
    {
        if (ownsSource)
        {
            Source.Dispose();
        }
    }
}

/// <summary>A flat extent: the guest bytes themselves, from an offset of its file.</summary>
internal sealed class VmdkFlatExtent(IRandomAccessSource source, bool ownsSource, long sectors, long startOffset, string name)
    : VmdkExtent(source, ownsSource, sectors, name)
{
    public long StartOffset { get; } = startOffset;
}

/// <summary>A hosted sparse extent (monolithicSparse, streamOptimized, or a SPARSE extent of a descriptor)
/// with its grain directory read and checked.</summary>
internal sealed class VmdkSparseExtent : VmdkExtent
{
    private VmdkSparseExtent(IRandomAccessSource source, bool ownsSource, VmdkHeader header, uint[] directory, string name)
        : base(source, ownsSource, header.Capacity, name)
    {
        Header = header;
        Directory = directory;
    }

    public VmdkHeader Header { get; }

    /// <summary>Grain table sectors, one per grain directory entry; 0 where the whole range is unallocated.</summary>
    public uint[] Directory { get; }

    /// <summary>Reads the header (and the footer where the header says the directory is at the end) and the grain directory.</summary>
    public static VmdkSparseExtent Open(IRandomAccessSource source, bool ownsSource, string name)
    {
        Span<byte> sector = stackalloc byte[VmdkHeader.Length];
        var read = source.ReadAt(0, sector);
        var header = VmdkHeader.Parse(sector[..read], source.Length);
        if (header.IsDescriptorOnly)
        {
            throw new ImageException(ImageErrors.VmdkExtentInvalid, $"The sparse extent '{name}' holds only a descriptor; nested descriptors are not supported.", 0);
        }

        if (header.DirectoryAtEnd)
        {
            header = ReadFooter(source);
        }

        // Checked to lie inside the file before anything this size is allocated.
        var directory = new uint[header.DirectoryEntries];
        var bytes = new byte[header.DirectoryEntries * 4];
        if (source.ReadAt(header.DirectoryOffset, bytes) != bytes.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The extent '{name}' ends inside its grain directory at 0x{header.DirectoryOffset:X}.", header.DirectoryOffset);
        }

        for (var i = 0; i < directory.Length; i++)
        {
            directory[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
            var tableOffset = (long)directory[i] * VmdkHeader.Sector;
            if (directory[i] != 0 && tableOffset + header.TableBytes > source.Length)
            {
                throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"Grain table {i} at 0x{tableOffset:X} lies beyond the end of the {source.Length:N0}-byte extent '{name}'.", header.DirectoryOffset + (i * 4L));
            }
        }

        return new VmdkSparseExtent(source, ownsSource, header, directory, name);
    }

    // A stream-optimized extent written in one pass keeps the directory's offset in a footer: a
    // footer marker, a copy of the header, and an end-of-stream marker, in the last three sectors
    // (qemu's vmdk_open_vmdk4 takes the footer's header in place of the first one).
    private static VmdkHeader ReadFooter(IRandomAccessSource source)
    {
        var footerOffset = source.Length - (3 * VmdkHeader.Sector);
        var footer = new byte[3 * VmdkHeader.Sector];
        if (footerOffset < VmdkHeader.Sector || source.ReadAt(footerOffset, footer) != footer.Length)
        {
            throw new ImageException(ImageErrors.VmdkFooterInvalid, "The stream-optimized extent has its grain directory at the end but is too short for a footer.", Math.Max(0, footerOffset));
        }

        var marker = footer.AsSpan(0, VmdkHeader.Sector);
        var end = footer.AsSpan(2 * VmdkHeader.Sector);
        if (BinaryPrimitives.ReadUInt32LittleEndian(marker[8..]) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(marker[12..]) != VmdkMarker.Footer
            || BinaryPrimitives.ReadUInt64LittleEndian(end) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(end[8..]) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(end[12..]) != VmdkMarker.EndOfStream
            || !VmdkHeader.HasMagic(footer.AsSpan(VmdkHeader.Sector)))
        {
            throw new ImageException(ImageErrors.VmdkFooterInvalid, "The stream-optimized extent has its grain directory at the end but no valid footer and end-of-stream marker before its end.", footerOffset);
        }

        var parsed = VmdkHeader.Parse(footer.AsSpan(VmdkHeader.Sector, VmdkHeader.Length), source.Length, footerOffset + VmdkHeader.Sector);
        return VmdkHeader.FromFooter(parsed, footerOffset + VmdkHeader.Sector);
    }
}

/// <summary>Marker types of a stream-optimized extent (VMware's virtual disk format 5.0, "Stream-Optimized Compressed Sparse Extents").</summary>
internal static class VmdkMarker
{
    public const uint EndOfStream = 0;
    public const uint GrainTable = 1;
    public const uint GrainDirectory = 2;
    public const uint Footer = 3;

    /// <summary>A grain marker: u64 LBA, u32 compressed size, then the data.</summary>
    public const int GrainHeaderLength = 12;
}
