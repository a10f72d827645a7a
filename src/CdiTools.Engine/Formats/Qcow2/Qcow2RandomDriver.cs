using System.Buffers;
using System.Buffers.Binary;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// Converts a qcow2 image it can read at any offset (a file, an HTTP resource with ranges): walks
/// the guest disk in order through L1 and L2, reads runs of clusters that are contiguous on the
/// host in one request, announces zero and unallocated runs without reading them, and inflates
/// compressed clusters on every core.
/// </summary>
internal sealed class Qcow2RandomDriver : IImageDriver
{
    // A read of contiguous data clusters is capped at what one output buffer holds.
    private const int MaxRun = RawOutput.BufferSize;

    private readonly IRandomAccessSource source;
    private readonly Qcow2Header header;
    private readonly Qcow2Mapping mapping;
    private readonly bool preferNativeDecoders;

    public Qcow2RandomDriver(IRandomAccessSource source, Qcow2Header header, bool preferNativeDecoders)
    {
        this.source = source;
        this.header = header;
        this.preferNativeDecoders = preferNativeDecoders;
        mapping = new Qcow2Mapping(header, source.Length);
        Details = Qcow2Details.From(header, source.Length);
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal => header.Refusal();

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        var clusterSize = header.ClusterSize;
        var virtualSize = header.VirtualSize;
        var guestClusters = (virtualSize + clusterSize - 1) / clusterSize;
        var l1 = ReadExactly(header.L1TableOffset, checked(header.L1Size * 8), "the L1 table");
        var l2 = new byte[clusterSize];
        var loadedL2 = -1L;
        using var decompressors = new DecoderPool<Qcow2Decompressor>(() => Qcow2Decompressor.Create(header.CompressionType, preferNativeDecoders));

        for (long cluster = 0; cluster < guestClusters;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var l1Index = (int)(cluster / header.L2Entries);
            var inTable = (int)(cluster % header.L2Entries);
            var left = (int)Math.Min(header.L2Entries - inTable, guestClusters - cluster);
            var l1Offset = header.L1TableOffset + (l1Index * 8L);
            var l2Offset = mapping.L2Offset(BinaryPrimitives.ReadUInt64BigEndian(l1.AsSpan(l1Index * 8)), l1Offset);
            if (l2Offset == 0)
            {
                output.WriteZeros(Bytes(cluster, left));
                cluster += left;
                continue;
            }

            if (l2Offset != loadedL2)
            {
                ReadExactly(l2Offset, l2, "an L2 table");
                loadedL2 = l2Offset;
            }

            var entry = Decode(l2, inTable, l2Offset, cluster);
            var run = 1;
            switch (entry.Kind)
            {
                case Qcow2ClusterKind.Zero:
                    while (run < left && Decode(l2, inTable + run, l2Offset, cluster + run).Kind == Qcow2ClusterKind.Zero)
                    {
                        run++;
                    }

                    output.WriteZeros(Bytes(cluster, run));
                    break;

                case Qcow2ClusterKind.Data:
                    while (run < left && (run + 1L) * clusterSize <= MaxRun)
                    {
                        var next = Decode(l2, inTable + run, l2Offset, cluster + run);
                        if (next.Kind != Qcow2ClusterKind.Data || next.HostOffset != entry.HostOffset + ((long)run * clusterSize))
                        {
                            break;
                        }

                        run++;
                    }

                    var bytes = (int)Bytes(cluster, run);
                    var span = output.GetSpan(bytes)[..bytes];
                    ReadExactly(entry.HostOffset, span, "a data cluster");
                    output.Advance(bytes);
                    break;

                case Qcow2ClusterKind.Compressed:
                    var batch = new List<Qcow2Cluster> { entry };
                    while (run < left && (run + 1L) * clusterSize <= MaxRun)
                    {
                        var next = Decode(l2, inTable + run, l2Offset, cluster + run);
                        if (next.Kind != Qcow2ClusterKind.Compressed)
                        {
                            break;
                        }

                        batch.Add(next);
                        run++;
                    }

                    DecompressBatch(batch, cluster, output, decompressors, cancellationToken);
                    break;

                case Qcow2ClusterKind.Subclusters:
                    CopySubclusters(entry, cluster, output);
                    break;
            }

            cluster += run;
        }
    }

    public void Dispose() => source.Dispose();

    private Qcow2Cluster Decode(byte[] l2, int index, long l2Offset, long cluster) =>
        mapping.Decode(l2, index, l2Offset, (int)Bytes(cluster, 1));

    // The disk bytes of `count` clusters from `cluster`: the last cluster stops at the virtual size.
    private long Bytes(long cluster, long count) =>
        Math.Min(count * header.ClusterSize, header.VirtualSize - (cluster * header.ClusterSize));

    private void DecompressBatch(List<Qcow2Cluster> batch, long firstCluster, RawOutput output, DecoderPool<Qcow2Decompressor> pool, CancellationToken cancellationToken)
    {
        var clusterSize = header.ClusterSize;
        var first = batch[0].HostOffset;
        var end = batch.Max(c => c.HostOffset + c.CompressedLength);
        var contiguous = batch.All(c => c.HostOffset >= first) && end - first <= 2L * batch.Sum(c => (long)c.CompressedLength) + clusterSize;
        var inputLength = contiguous ? (int)(end - first) : batch.Sum(c => c.CompressedLength);
        var input = ArrayPool<byte>.Shared.Rent(inputLength);
        try
        {
            var starts = new int[batch.Count];
            var lengths = new int[batch.Count];
            if (contiguous)
            {
                var read = source.ReadAt(first, input.AsSpan(0, inputLength));
                for (var i = 0; i < batch.Count; i++)
                {
                    starts[i] = (int)(batch[i].HostOffset - first);
                    lengths[i] = Math.Clamp(read - starts[i], 0, batch[i].CompressedLength);
                }
            }
            else
            {
                var at = 0;
                for (var i = 0; i < batch.Count; i++)
                {
                    starts[i] = at;
                    lengths[i] = source.ReadAt(batch[i].HostOffset, input.AsSpan(at, batch[i].CompressedLength));
                    at += batch[i].CompressedLength;
                }
            }

            var bytes = (int)Bytes(firstCluster, batch.Count);
            var memory = output.GetMemory(batch.Count * clusterSize);
            pool.DecodeAll(
                batch.Count,
                (decompressor, i) => decompressor.Decompress(input, starts[i], lengths[i], memory.Span.Slice(i * clusterSize, clusterSize), batch[i].HostOffset),
                cancellationToken);

            output.Advance(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    // The host cluster is read up to its last allocated subcluster in one request, then the
    // subclusters the entry does not allocate are zeroed.
    private void CopySubclusters(Qcow2Cluster entry, long cluster, RawOutput output)
    {
        var bytes = (int)Bytes(cluster, 1);
        var span = output.GetSpan(header.ClusterSize)[..bytes];
        ReadExactly(entry.HostOffset, span[..Math.Min(bytes, entry.HostBytes)], "a data cluster with subclusters");
        entry.ClearUnallocatedSubclusters(span, header.ClusterSize);
        output.Advance(bytes);
    }

    private byte[] ReadExactly(long offset, int count, string what)
    {
        var bytes = new byte[count];
        ReadExactly(offset, bytes, what);
        return bytes;
    }

    private void ReadExactly(long offset, Span<byte> destination, string what) =>
        source.ReadExactly(offset, destination, ImageErrors.Qcow2OffsetBeyondEndOfFile, what);
}
