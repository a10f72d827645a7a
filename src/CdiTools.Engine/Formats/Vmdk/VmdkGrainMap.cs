using System.Buffers.Binary;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// A sparse extent's grains as <see cref="RandomExtentReader"/> walks them: the grain directory
/// read at open, one grain table at a time, compressed grains found after their markers and
/// inflated by a pool shared by the image's extents.
/// </summary>
internal sealed class VmdkGrainMap(VmdkSparseExtent extent, DecoderPool<VmdkGrainInflater> inflaters) : IExtentMap
{
    private readonly VmdkHeader header = extent.Header;
    private readonly byte[] table = new byte[extent.Header.TableBytes];
    private int loadedTable = -1;

    public int ClusterSize => header.GrainSize;

    public long DiskSize => header.VirtualSize;

    public ImageError TruncatedError => ImageErrors.VmdkOffsetBeyondEndOfFile;

    public string DataName => "a grain";

    public string Subject => $"The extent '{extent.Name}'";

    public DiskExtent Describe(long cluster)
    {
        var tableIndex = (int)(cluster / header.GrainTableEntries);
        var inTable = (int)(cluster % header.GrainTableEntries);
        var tableSector = extent.Directory[tableIndex];
        if (tableSector == 0)
        {
            return DiskExtent.Zeros(header.GrainTableEntries - inTable);
        }

        if (tableIndex != loadedTable)
        {
            extent.Source.ReadExactly((long)tableSector * VmdkHeader.Sector, table, TruncatedError, "a grain table", Subject);
            loadedTable = tableIndex;
        }

        // 0 is unallocated (zeros without a parent); 1 is a zeroed grain where the header enables them.
        var entry = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(inTable * 4));
        if (entry == 0 || (entry == 1 && header.HasZeroGrains))
        {
            return DiskExtent.Zeros(1);
        }

        var host = (long)entry * VmdkHeader.Sector;
        var needed = (int)Math.Min(header.GrainSize, header.VirtualSize - (cluster * header.GrainSize));

        // qemu reads two grains' worth at a compressed grain's offset: its marker and data must fit in that.
        return header.Compressed
            ? DiskExtent.Compressed(host, VmdkMarker.GrainHeaderLength + (2 * header.GrainSize))
            : DiskExtent.Data(host, needed);
    }

    // After its marker when the extent has markers, else a grain's worth from its offset.
    public (int Start, int Length) Locate(in DiskExtent grain, ReadOnlySpan<byte> stored)
    {
        var host = grain.HostOffset;
        var fileLength = extent.Source.Length;
        if (host >= fileLength)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"A compressed grain at 0x{host:X} lies beyond the end of the {fileLength:N0}-byte extent.", host);
        }

        if (!header.HasMarkers)
        {
            return (0, Math.Min(header.GrainSize, stored.Length));
        }

        if (VmdkMarker.GrainHeaderLength > stored.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The extent ends inside the grain marker at 0x{host:X}.", host);
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(stored[8..]);
        if (size == 0 || size > 2L * header.GrainSize)
        {
            throw new ImageException(ImageErrors.VmdkCompressedGrainCorrupt, $"The grain marker at 0x{host:X} gives a compressed size of {size} bytes (1 to {2 * header.GrainSize} allowed).", host + 8);
        }

        if (VmdkMarker.GrainHeaderLength + size > stored.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The compressed grain at 0x{host:X} ({size} bytes) runs past the end of the {fileLength:N0}-byte extent.", host);
        }

        return (VmdkMarker.GrainHeaderLength, (int)size);
    }

    public void Decode(CompressedBatch batch, CancellationToken cancellationToken) =>
        inflaters.DecodeAll(
            batch.Count,
            (inflater, i) => inflater.Inflate(batch.Stored(i), batch.Cluster(i), batch.Needed(i), batch.Extent(i).HostOffset),
            cancellationToken);
}
