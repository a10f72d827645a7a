using System.Buffers.Binary;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// A qcow2 image's clusters as <see cref="RandomExtentReader"/> walks them: the L1 table read
/// once, one L2 table at a time, each entry decoded by <see cref="Qcow2Mapping"/>, compressed
/// clusters inflated by a pool of decompressors of the image's compression type.
/// </summary>
internal sealed class Qcow2ExtentMap : IExtentMap, IDisposable
{
    private readonly IRandomAccessSource source;
    private readonly Qcow2Header header;
    private readonly Qcow2Mapping mapping;
    private readonly byte[] l1;
    private readonly byte[] l2;
    private readonly DecoderPool<Qcow2Decompressor> decompressors;
    private long loadedL2 = -1;

    public Qcow2ExtentMap(IRandomAccessSource source, Qcow2Header header, Qcow2Mapping mapping, bool preferNativeDecoders)
    {
        this.source = source;
        this.header = header;
        this.mapping = mapping;
        l1 = new byte[checked(header.L1Size * 8)];
        ReadExactly(header.L1TableOffset, l1, "the L1 table");
        l2 = new byte[header.ClusterSize];
        decompressors = new DecoderPool<Qcow2Decompressor>(() => Qcow2Decompressor.Create(header.CompressionType, preferNativeDecoders));
    }

    public int ClusterSize => header.ClusterSize;

    public long DiskSize => header.VirtualSize;

    public ImageError TruncatedError => ImageErrors.Qcow2OffsetBeyondEndOfFile;

    public DiskExtent Describe(long cluster)
    {
        var l1Index = (int)(cluster / header.L2Entries);
        var inTable = (int)(cluster % header.L2Entries);
        var l1Offset = header.L1TableOffset + (l1Index * 8L);
        var l2Offset = mapping.L2Offset(BinaryPrimitives.ReadUInt64BigEndian(l1.AsSpan(l1Index * 8)), l1Offset);
        if (l2Offset == 0)
        {
            return DiskExtent.Zeros(header.L2Entries - inTable);
        }

        if (l2Offset != loadedL2)
        {
            ReadExactly(l2Offset, l2, "an L2 table");
            loadedL2 = l2Offset;
        }

        var needed = (int)Math.Min(header.ClusterSize, header.VirtualSize - (cluster * header.ClusterSize));
        var entry = mapping.Decode(l2, inTable, l2Offset, needed);
        return entry.Kind switch
        {
            Qcow2ClusterKind.Data => DiskExtent.Data(entry.HostOffset, entry.HostBytes),
            Qcow2ClusterKind.Compressed => DiskExtent.Compressed(entry.HostOffset, entry.CompressedLength),

            // The host cluster is read up to its last allocated subcluster, then the ones the entry does not allocate are cleared.
            Qcow2ClusterKind.Subclusters => DiskExtent.Data(entry.HostOffset, entry.HostBytes) with { Patched = true, Detail = entry.AllocatedSubclusters },
            _ => DiskExtent.Zeros(1),
        };
    }

    public void Patch(in DiskExtent extent, long offset, Span<byte> disk) =>
        Qcow2Cluster.ClearUnallocatedSubclusters((uint)extent.Detail, disk, header.ClusterSize);

    public void Decode(CompressedBatch batch, CancellationToken cancellationToken) =>
        decompressors.DecodeAll(
            batch.Count,
            (decompressor, i) => decompressor.Decompress(batch.Input, batch.Start(i), batch.Length(i), batch.Cluster(i), batch.Extent(i).HostOffset),
            cancellationToken);

    public void Dispose() => decompressors.Dispose();

    private void ReadExactly(long offset, Span<byte> destination, string what) =>
        source.ReadExactly(offset, destination, TruncatedError, what);
}
