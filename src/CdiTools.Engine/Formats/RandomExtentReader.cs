using System.Buffers;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Writes a disk read at random offsets from its <see cref="IExtentMap"/>, in guest order: zero
/// runs are announced without a read, plain clusters that follow one another in the file are read
/// in one request straight into the output, and compressed clusters are read together and decoded
/// on every core. Every format readable at random goes through here.
/// </summary>
internal sealed class RandomExtentReader
{
    // A run read or decoded at once is capped at what one output buffer holds.
    private const int MaxRun = RawOutput.BufferSize;

    private readonly IRandomAccessSource source;
    private readonly IExtentMap map;
    private readonly RawOutput output;
    private readonly CancellationToken cancellationToken;
    private readonly int clusterSize;
    private readonly long clusters;
    private CompressedBatch? batch;

    // The one extent described ahead, to see whether it continues a run; the next one used.
    private long aheadCluster = -1;
    private DiskExtent ahead;

    private RandomExtentReader(IRandomAccessSource source, IExtentMap map, RawOutput output, CancellationToken cancellationToken)
    {
        this.source = source;
        this.map = map;
        this.output = output;
        this.cancellationToken = cancellationToken;
        clusterSize = map.ClusterSize;
        clusters = (map.DiskSize + clusterSize - 1) / clusterSize;
    }

    public static void Convert(IRandomAccessSource source, IExtentMap map, RawOutput output, CancellationToken cancellationToken) =>
        new RandomExtentReader(source, map, output, cancellationToken).Run();

    private void Run()
    {
        for (long cluster = 0; cluster < clusters;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var extent = Describe(cluster);
            cluster = extent.Kind switch
            {
                DiskExtentKind.Zeros => WriteZeros(cluster, extent),
                DiskExtentKind.Data => CopyData(cluster, extent),
                _ => DecodeCompressed(cluster, extent),
            };
        }
    }

    private DiskExtent Describe(long cluster)
    {
        if (cluster != aheadCluster)
        {
            ahead = map.Describe(cluster);
            aheadCluster = cluster;
        }

        return ahead;
    }

    // The disk bytes of the clusters [first, end): the last cluster stops at the disk's size.
    private long GuestBytes(long first, long end) => Math.Min(end * clusterSize, map.DiskSize) - (first * clusterSize);

    private long WriteZeros(long cluster, DiskExtent extent)
    {
        var end = Math.Min(cluster + Math.Max(extent.Clusters, 1), clusters);
        while (end < clusters && Describe(end) is { Kind: DiskExtentKind.Zeros } next)
        {
            end = Math.Min(end + Math.Max(next.Clusters, 1), clusters);
        }

        output.WriteZeros(GuestBytes(cluster, end));
        return end;
    }

    private long CopyData(long cluster, DiskExtent extent)
    {
        var run = 1;
        if (!extent.Patched && extent.HostBytes == GuestBytes(cluster, cluster + 1))
        {
            while (cluster + run < clusters
                && (run + 1L) * clusterSize <= MaxRun
                && Describe(cluster + run) is { Kind: DiskExtentKind.Data, Patched: false } next
                && next.HostOffset == extent.HostOffset + ((long)run * clusterSize)
                && next.HostBytes == GuestBytes(cluster + run, cluster + run + 1))
            {
                run++;
            }
        }

        var bytes = GuestBytes(cluster, cluster + run);
        var stored = run == 1 ? extent.HostBytes : bytes;

        // A cluster larger than the output buffer (a VHDX block) is read a buffer at a time.
        for (long done = 0; done < bytes;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var piece = (int)Math.Min(MaxRun, bytes - done);
            var span = output.GetSpan(piece)[..piece];
            var fromFile = (int)Math.Clamp(stored - done, 0, piece);
            source.ReadExactly(extent.HostOffset + done, span[..fromFile], map.TruncatedError, map.DataName, map.Subject);
            span[fromFile..].Clear();
            if (extent.Patched)
            {
                map.Patch(extent, done, span);
            }

            output.Advance(piece);
            done += piece;
        }

        return cluster + run;
    }

    private long DecodeCompressed(long cluster, DiskExtent extent)
    {
        batch ??= new CompressedBatch(Math.Max(1, MaxRun / clusterSize), clusterSize);
        batch.Clear();
        batch.Add(extent, (int)GuestBytes(cluster, cluster + 1));
        while (cluster + batch.Count < clusters
            && batch.Count < batch.Capacity
            && Describe(cluster + batch.Count) is { Kind: DiskExtentKind.Compressed } next)
        {
            var at = cluster + batch.Count;
            batch.Add(next, (int)GuestBytes(at, at + 1));
        }

        batch.Input = ReadStored(batch);
        try
        {
            batch.Output = output.GetMemory(batch.Count * clusterSize);
            map.Decode(batch, cancellationToken);

            // Clusters before the last are whole, so the decoded bytes are already where they belong.
            output.Advance((int)GuestBytes(cluster, cluster + batch.Count));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch.Input);
            batch.Input = [];
        }

        return cluster + batch.Count;
    }

    // Reads what each compressed cluster may occupy: in one request when the clusters lie close
    // together in the file (what was written in order), else one request each.
    private byte[] ReadStored(CompressedBatch clustersToRead)
    {
        var first = clustersToRead.Extent(0).HostOffset;
        var end = first;
        var sum = 0L;
        var ascending = true;
        for (var i = 0; i < clustersToRead.Count; i++)
        {
            var extent = clustersToRead.Extent(i);
            end = Math.Max(end, extent.HostOffset + extent.HostBytes);
            sum += extent.HostBytes;
            ascending &= extent.HostOffset >= first;
        }

        var together = ascending && end - first <= (2 * sum) + clusterSize;
        var length = (int)(together ? end - first : sum);
        var input = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var read = together ? source.ReadAt(first, input.AsSpan(0, length)) : 0;
            var at = 0;
            for (var i = 0; i < clustersToRead.Count; i++)
            {
                var extent = clustersToRead.Extent(i);
                int start, available;
                if (together)
                {
                    start = (int)(extent.HostOffset - first);
                    available = Math.Clamp(read - start, 0, extent.HostBytes);
                }
                else
                {
                    start = at;
                    available = source.ReadAt(extent.HostOffset, input.AsSpan(at, extent.HostBytes));
                    at += extent.HostBytes;
                }

                var (offset, count) = map.Locate(extent, input.AsSpan(start, available));
                clustersToRead.Locate(i, start + offset, count);
            }

            return input;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(input);
            throw;
        }
    }
}
