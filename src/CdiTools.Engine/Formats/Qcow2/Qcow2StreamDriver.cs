using System.Buffers;
using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// Converts a qcow2 image read forward once (after a decompressor, inside a tar, or from a server
/// without ranges). It reads the file cluster by cluster and writes the disk in guest order as
/// soon as each part is known and present. A cluster that arrives before the table that maps
/// it, or before the disk needs it, is kept: in memory up to a budget, then in a scratch file,
/// and the bytes spilled are counted. Images written by qemu-img convert put each L2 table before
/// the data it maps, in guest order, so they need (almost) nothing kept.
/// </summary>
internal sealed class Qcow2StreamDriver : IImageDriver
{
    private readonly Stream stream;
    private readonly Qcow2Header header;
    private readonly Qcow2Mapping mapping;
    private readonly BlockStore store;
    private readonly int clusterSize;
    private readonly bool preferNativeDecoders;
    private readonly long guestClusters;

    // Host clusters that are metadata we never need: the header, refcount table and blocks, L1, L2 read.
    private readonly HashSet<long> metadata = [];

    // L2 tables named by the L1 that have not come by yet: host offset -> L1 indexes.
    private readonly Dictionary<long, List<int>> pendingL2 = [];


    // How many not-yet-written guest clusters need each host cluster.
    private readonly Dictionary<long, int> wanted = [];

    // How many L2 entries read so far reference each host cluster still in play; compared with
    // the cluster's refcount to know whether a table still to come may reference it too.
    private readonly Dictionary<long, int> registered = [];

    // Refcount blocks: host cluster -> block index, and block index -> whether it has been kept.
    private readonly Dictionary<long, long> refcountBlockAt = [];
    private readonly int refcountBits;
    private readonly long refcountEntriesPerBlock;

    private readonly byte[] current;
    private readonly byte[] emitTable;
    private int emitTableIndex = -1;
    private byte[]? l1Bytes;
    private int l1Filled;
    private ulong[]? l1;
    private byte[]? refcountTable;
    private int refcountFilled;
    private long position;
    private int currentLength;
    private long currentCluster = -1;
    private bool endOfStream;
    private long emitCluster;

    public Qcow2StreamDriver(Stream stream, long? fileLength, ImageOpenOptions options)
    {
        this.stream = stream;
        preferNativeDecoders = options.PreferNativeDecoders;
        var head = new byte[32];
        var headLength = ReadFull(head);
        if (headLength < head.Length)
        {
            throw new ImageException(ImageErrors.Qcow2HeaderTruncated, "The image ends inside its qcow2 header.", headLength);
        }

        clusterSize = Qcow2Header.RequiredLength(head);
        current = new byte[clusterSize];
        head.CopyTo(current, 0);
        currentLength = head.Length + ReadFull(current.AsSpan(head.Length));
        header = Qcow2Header.Parse(current.AsSpan(0, currentLength), fileLength);
        position = currentLength;
        currentCluster = 0;
        endOfStream = currentLength < clusterSize;
        emitTable = new byte[clusterSize];
        metadata.Add(0);
        mapping = new Qcow2Mapping(header, fileLength);
        guestClusters = (header.VirtualSize + clusterSize - 1) / clusterSize;
        store = new BlockStore(clusterSize, options.MemoryBudget, options.ScratchDirectory, ImageErrors.Qcow2OffsetBeyondEndOfFile);
        refcountBits = 1 << header.RefcountOrder;
        refcountEntriesPerBlock = (long)clusterSize * 8 / refcountBits;
        Details = Qcow2Details.From(header, fileLength);
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal => header.Refusal();

    public long ScratchBytes => store.SpilledBytes;

    public long KeptBytes => store.PeakHeldBytes;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        using var decompressor = Qcow2Decompressor.Create(header.CompressionType, preferNativeDecoders);
        while (emitCluster < guestClusters)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryEmit(output, decompressor))
            {
                continue;
            }

            if (!ReadNextCluster())
            {
                throw MissingAtEnd();
            }
        }

        // Read to the end: the layers below check their own integrity (gzip CRC, xz check, tar
        // structure, the input checksum) only when they reach it.
        Span<byte> sink = current;
        while (stream.Read(sink) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Dispose()
    {
        store.Dispose();
        stream.Dispose();
    }

    private int L2Entries => header.L2Entries;

    // The disk bytes of the guest cluster: the last one stops at the virtual size.
    private int GuestBytes(long cluster) => (int)Math.Min(clusterSize, header.VirtualSize - (cluster * clusterSize));

    private bool TryEmit(RawOutput output, Qcow2Decompressor decompressor)
    {
        if (l1 is null)
        {
            return false;
        }

        var l1Index = (int)(emitCluster / L2Entries);
        var l2Offset = mapping.L2Offset(l1[l1Index], header.L1TableOffset + (l1Index * 8L));
        var inTable = (int)(emitCluster % L2Entries);
        var left = (int)Math.Min(L2Entries - inTable, guestClusters - emitCluster);
        if (l2Offset == 0)
        {
            output.WriteZeros(Math.Min((long)left * clusterSize, header.VirtualSize - (emitCluster * clusterSize)));
            emitCluster += left;
            return true;
        }

        if (emitTableIndex != l1Index)
        {
            // L2 tables read ahead of the disk wait in the store, which may have spilled them.
            if (!store.TryRead(TableKey(l1Index), emitTable))
            {
                return false;
            }

            emitTableIndex = l1Index;
        }

        var table = emitTable;

        var entry = mapping.Decode(table, inTable, l2Offset, GuestBytes(emitCluster));
        switch (entry.Kind)
        {
            case Qcow2ClusterKind.Zero:
                output.WriteZeros(GuestBytes(emitCluster));
                break;

            case Qcow2ClusterKind.Data:
            case Qcow2ClusterKind.Subclusters:
                var host = entry.HostOffset / clusterSize;
                var bytes = GuestBytes(emitCluster);
                var span = output.GetSpan(clusterSize)[..bytes];
                if (!CopyHostCluster(host, span[..entry.HostBytes]))
                {
                    return false;
                }

                if (entry.Kind == Qcow2ClusterKind.Subclusters)
                {
                    entry.ClearUnallocatedSubclusters(span, clusterSize);
                }

                output.Advance(bytes);
                Release(host);
                break;

            case Qcow2ClusterKind.Compressed:
                var first = entry.HostOffset / clusterSize;
                var last = (entry.HostOffset + entry.CompressedLength - 1) / clusterSize;
                if (!endOfStream && currentCluster < last)
                {
                    return false;
                }

                var input = ArrayPool<byte>.Shared.Rent(entry.CompressedLength);
                try
                {
                    var length = GatherCompressed(entry, input);
                    var target = output.GetSpan(clusterSize);
                    decompressor.Decompress(input, 0, length, target[..clusterSize], entry.HostOffset);
                    output.Advance(GuestBytes(emitCluster));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(input);
                }

                for (var cluster = first; cluster <= last; cluster++)
                {
                    Release(cluster);
                }

                break;
        }

        emitCluster++;
        if (emitCluster % L2Entries == 0 || emitCluster == guestClusters)
        {
            store.Remove(TableKey(l1Index));
            emitTableIndex = -1;
        }

        return true;
    }

    // Copies host cluster `host` from the store or from the cluster just read; false if it has not come by yet.
    private bool CopyHostCluster(long host, Span<byte> destination)
    {
        if (store.TryRead(host, destination))
        {
            return true;
        }

        if (host == currentCluster)
        {
            if (currentLength < destination.Length)
            {
                throw new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The image ends inside the data cluster at 0x{host * clusterSize:X}.", position);
            }

            current.AsSpan(0, destination.Length).CopyTo(destination);
            return true;
        }

        if (host < currentCluster)
        {
            throw new ImageException(ImageErrors.Qcow2ClusterOverlap, $"Guest data maps to host cluster 0x{host * clusterSize:X}, which holds qcow2 metadata.", host * clusterSize);
        }

        return false;
    }

    // The compressed bytes may span several host clusters and end short at the end of the file.
    private int GatherCompressed(Qcow2Cluster entry, byte[] input)
    {
        var filled = 0;
        var offset = entry.HostOffset;
        while (filled < entry.CompressedLength)
        {
            var cluster = offset / clusterSize;
            var within = (int)(offset % clusterSize);
            var count = Math.Min(entry.CompressedLength - filled, clusterSize - within);
            var piece = input.AsSpan(filled, count);
            int available;
            if (cluster == currentCluster)
            {
                available = Math.Clamp(currentLength - within, 0, count);
                current.AsSpan(within, available).CopyTo(piece);
            }
            else
            {
                available = store.TryReadPart(cluster, within, piece);
            }

            filled += available;
            if (available < count)
            {
                // The rest lies past the end of the file or in a cluster that is not compressed
                // data; the decoder needs no more than the real data and says so if it does.
                break;
            }

            offset += count;
        }

        return filled;
    }

    private void Release(long host)
    {
        if (!wanted.TryGetValue(host, out var count))
        {
            return;
        }

        if (count > 1)
        {
            wanted[host] = count - 1;
            return;
        }

        wanted.Remove(host);
        if (!store.Contains(host))
        {
            // The cluster just read: KeepIfNeeded decides when the next one replaces it.
            return;
        }

        if (MayBeNeededLater(host))
        {
            store.MarkUnknown(host);
        }
        else
        {
            store.Remove(host);
            registered.Remove(host);
        }
    }

    // Whether an L2 table not read yet may still reference `host`. Once its refcount is known
    // and that many references have been read, no table can; packed compressed clusters share
    // host clusters across L2 tables, so this is not only a question for corrupt images.
    private bool MayBeNeededLater(long host)
    {
        if (l1 is null)
        {
            return true;
        }

        if (pendingL2.Count == 0)
        {
            return false;
        }

        var references = Refcount(host);
        return references is null || references > registered.GetValueOrDefault(host);
    }

    private long? Refcount(long host)
    {
        var block = host / refcountEntriesPerBlock;
        var key = RefcountBlockKey(block);
        if (!store.Contains(key))
        {
            return null;
        }

        var index = host % refcountEntriesPerBlock;
        Span<byte> bytes = stackalloc byte[8];
        if (refcountBits < 8)
        {
            // Entries narrower than a byte are packed from the least significant bit (qemu's get_refcount_ro0..2).
            store.TryReadPart(key, (int)(index * refcountBits / 8), bytes[..1]);
            return (bytes[0] >> (int)(index * refcountBits % 8)) & ((1 << refcountBits) - 1);
        }

        var width = refcountBits / 8;
        store.TryReadPart(key, (int)(index * width), bytes[..width]);
        return width switch
        {
            1 => bytes[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            4 => BinaryPrimitives.ReadUInt32BigEndian(bytes),
            _ => (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(bytes), long.MaxValue),
        };
    }

    private bool ReadNextCluster()
    {
        // The cluster just read stays where emission can take it until the next one replaces it;
        // keep it if it is still needed.
        KeepIfNeeded();
        if (endOfStream)
        {
            return false;
        }

        currentCluster = position / clusterSize;
        currentLength = ReadFull(current);
        position += currentLength;
        if (currentLength == 0)
        {
            endOfStream = true;
            currentCluster = -1;
            return false;
        }

        if (currentLength < clusterSize)
        {
            endOfStream = true;
        }

        var start = currentCluster * clusterSize;
        AbsorbTablePart(start, header.L1TableOffset, (long)header.L1Size * 8, ref l1Bytes, ref l1Filled, ParseL1);
        AbsorbTablePart(start, header.RefcountTableOffset, (long)header.RefcountTableClusters * clusterSize, ref refcountTable, ref refcountFilled, ParseRefcountTable);
        if (refcountBlockAt.TryGetValue(currentCluster, out var block))
        {
            store.Add(RefcountBlockKey(block), current.AsSpan(0, currentLength), unknown: false, isData: false);
        }

        if (pendingL2.Remove(start, out var l1Indexes))
        {
            metadata.Add(currentCluster);
            AcceptL2(current.AsSpan(0, currentLength), l1Indexes, start);
        }

        return true;
    }

    private void KeepIfNeeded()
    {
        if (currentCluster <= 0 || currentLength == 0 || metadata.Contains(currentCluster) || store.Contains(currentCluster))
        {
            return;
        }

        if (wanted.ContainsKey(currentCluster))
        {
            store.Add(currentCluster, current.AsSpan(0, currentLength), unknown: false);
        }
        else if (MayBeNeededLater(currentCluster))
        {
            // Not mapped yet (or not by every table that maps it), but a table still to come may map it.
            store.Add(currentCluster, current.AsSpan(0, currentLength), unknown: true);
        }
        else
        {
            registered.Remove(currentCluster);
        }
    }

    private void AbsorbTablePart(long clusterStart, long tableOffset, long tableBytes, ref byte[]? table, ref int filled, Action<byte[]> parse)
    {
        if (tableBytes == 0 || clusterStart + clusterSize <= tableOffset || clusterStart >= tableOffset + tableBytes)
        {
            return;
        }

        table ??= new byte[tableBytes];
        var from = Math.Max(clusterStart, tableOffset);
        var to = Math.Min(clusterStart + currentLength, tableOffset + tableBytes);
        if (to > from)
        {
            current.AsSpan((int)(from - clusterStart), (int)(to - from)).CopyTo(table.AsSpan((int)(from - tableOffset)));
            filled += (int)(to - from);
        }

        metadata.Add(currentCluster);
        if (filled == tableBytes)
        {
            parse(table);
        }
    }

    private void ParseL1(byte[] table)
    {
        l1 = new ulong[header.L1Size];
        for (var i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(i * 8));
            if ((long)i * L2Entries >= guestClusters)
            {
                // Entries past the disk's end map nothing the disk needs.
                l1[i] = 0;
                continue;
            }

            var l2Offset = mapping.L2Offset(l1[i], header.L1TableOffset + (i * 8L));
            if (l2Offset == 0)
            {
                continue;
            }

            var l2Cluster = l2Offset / clusterSize;
            if (l2Offset < position && l2Cluster != currentCluster)
            {
                // The table came by before the L1 that names it; it was kept as an unknown cluster.
                var kept = new byte[clusterSize];
                if (!store.TryRead(l2Cluster, kept))
                {
                    throw new ImageException(ImageErrors.Qcow2ClusterOverlap, $"The L2 table at 0x{l2Offset:X} overlaps other qcow2 metadata.", header.L1TableOffset + (i * 8L));
                }

                store.Remove(l2Cluster);
                metadata.Add(l2Cluster);
                AcceptL2(kept, [i], l2Offset);
            }
            else
            {
                if (!pendingL2.TryGetValue(l2Offset, out var indexes))
                {
                    pendingL2[l2Offset] = indexes = [];
                }

                indexes.Add(i);
            }
        }

        PurgeIfAllTablesRead();
    }

    private void ParseRefcountTable(byte[] table)
    {
        for (var i = 0; i + 8 <= table.Length; i += 8)
        {
            var offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(i)) & ~((ulong)clusterSize - 1));
            if (offset == 0)
            {
                continue;
            }

            var cluster = offset / clusterSize;
            var block = i / 8L;
            metadata.Add(cluster);
            if (cluster < currentCluster)
            {
                // The block came by before the table that names it and was kept as unknown.
                var kept = new byte[clusterSize];
                if (store.TryReadPart(cluster, 0, kept) > 0)
                {
                    store.Add(RefcountBlockKey(block), kept, unknown: false, isData: false);
                }

                store.Remove(cluster);
            }
            else
            {
                refcountBlockAt[cluster] = block;
            }
        }
    }

    private void AcceptL2(ReadOnlySpan<byte> data, List<int> l1Indexes, long l2Offset)
    {
        if (data.Length < clusterSize)
        {
            throw new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The image ends inside the L2 table at 0x{l2Offset:X}.", l2Offset + data.Length);
        }

        var table = data[..clusterSize];
        foreach (var l1Index in l1Indexes)
        {
            store.Add(TableKey(l1Index), table, unknown: false, isData: false);
            var firstGuest = (long)l1Index * L2Entries;
            var count = (int)Math.Min(L2Entries, guestClusters - firstGuest);
            for (var i = 0; i < count; i++)
            {
                var entry = mapping.Decode(table, i, l2Offset, GuestBytes(firstGuest + i));
                switch (entry.Kind)
                {
                    case Qcow2ClusterKind.Data:
                    case Qcow2ClusterKind.Subclusters:
                        Want(entry.HostOffset / clusterSize, required: true, l2Offset);
                        break;
                    case Qcow2ClusterKind.Compressed:
                        var last = (entry.HostOffset + entry.CompressedLength - 1) / clusterSize;
                        for (var cluster = entry.HostOffset / clusterSize; cluster <= last; cluster++)
                        {
                            Want(cluster, required: cluster == entry.HostOffset / clusterSize, l2Offset);
                        }

                        break;
                }
            }
        }

        PurgeIfAllTablesRead();
    }

    private void Want(long host, bool required, long l2Offset)
    {
        wanted[host] = wanted.GetValueOrDefault(host) + 1;
        registered[host] = registered.GetValueOrDefault(host) + 1;
        if (host < currentCluster)
        {
            if (store.Contains(host))
            {
                store.MarkKnown(host);
            }
            else if (required)
            {
                throw new ImageException(ImageErrors.Qcow2ClusterOverlap, $"The L2 table at 0x{l2Offset:X} maps guest data to host cluster 0x{host * clusterSize:X}, which holds qcow2 metadata or was already passed as unused.", l2Offset);
            }
        }
    }

    private void PurgeIfAllTablesRead()
    {
        if (l1 is not null && pendingL2.Count == 0)
        {
            store.RemoveUnknown();
            registered.Clear();
        }
    }

    private ImageException MissingAtEnd()
    {
        if (l1 is null)
        {
            return new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The image ends at {position:N0} bytes, before its L1 table at 0x{header.L1TableOffset:X}.", position);
        }

        var l1Index = (int)(emitCluster / L2Entries);
        var l2Offset = mapping.L2Offset(l1[l1Index], header.L1TableOffset + (l1Index * 8L));
        if (!store.Contains(TableKey(l1Index)))
        {
            return new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The image ends at {position:N0} bytes, before the L2 table at 0x{l2Offset:X}.", position);
        }

        return new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The image ends at {position:N0} bytes, before the data of guest offset 0x{emitCluster * clusterSize:X}.", position);
    }

    // L2 tables and refcount blocks share the store with host clusters, under keys no host cluster has.
    private static long TableKey(int l1Index) => -1L - l1Index;

    private static long RefcountBlockKey(long block) => long.MinValue + block;

    // Fewer bytes than asked only at the end of the input.
    private int ReadFull(Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
}
