using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>What one guest cluster is, decoded from its L2 entry.</summary>
internal enum Qcow2ClusterKind
{
    /// <summary>Reads as zeros: unallocated without a backing file, or a zero cluster.</summary>
    Zero,

    /// <summary>Uncompressed data at <see cref="Qcow2Cluster.HostOffset"/>.</summary>
    Data,

    /// <summary>Compressed data at a byte offset, at most <see cref="Qcow2Cluster.CompressedLength"/> bytes.</summary>
    Compressed,

    /// <summary>Extended L2: subclusters are data, zero or unallocated each (see the bitmap).</summary>
    Subclusters,
}

/// <summary>
/// One decoded L2 entry. <see cref="HostBytes"/> is how much of the host cluster the disk reads:
/// the guest bytes for data, up to the last allocated subcluster for extended L2 (qemu writes
/// only those, so the file may end inside the cluster), the upper bound for compressed data.
/// </summary>
internal readonly record struct Qcow2Cluster(Qcow2ClusterKind Kind, long HostOffset, int CompressedLength, uint AllocatedSubclusters, int HostBytes)
{
    public static readonly Qcow2Cluster Zero = new(Qcow2ClusterKind.Zero, 0, 0, 0, 0);

    /// <summary>
    /// Zeros the subclusters of <paramref name="cluster"/> (the disk bytes of one cluster, read
    /// from the host up to <see cref="HostBytes"/>) that this extended L2 entry does not allocate:
    /// they read as zeros whatever the file holds there, and past <see cref="HostBytes"/> all are.
    /// </summary>
    public void ClearUnallocatedSubclusters(Span<byte> cluster, int clusterSize) =>
        ClearUnallocatedSubclusters(AllocatedSubclusters, cluster, clusterSize);

    /// <summary>Zeros the subclusters of <paramref name="cluster"/> that the bitmap <paramref name="allocated"/> does not allocate.</summary>
    public static void ClearUnallocatedSubclusters(uint allocated, Span<byte> cluster, int clusterSize)
    {
        var subclusterSize = clusterSize / 32;
        for (var i = 0; i < 32 && i * subclusterSize < cluster.Length; i++)
        {
            if ((allocated & (1u << i)) == 0)
            {
                cluster.Slice(i * subclusterSize, Math.Min(subclusterSize, cluster.Length - (i * subclusterSize))).Clear();
            }
        }
    }
}

/// <summary>
/// Decodes L1 and L2 entries as qemu does (qcow2_get_cluster_type, qcow2_get_subcluster_type,
/// qcow2_parse_compressed_l2_entry) and refuses, with the entry's offset, what qemu only masks
/// or reads as zeros: reserved bits, misaligned offsets, offsets beyond the end of the file,
/// a zero flag in a version 2 image, inconsistent subcluster bitmaps.
/// </summary>
internal sealed class Qcow2Mapping(Qcow2Header header, long? fileLength)
{
    private const ulong L1OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;
    private const ulong L1Reserved = 0x7F00_0000_0000_01FFUL;
    private const ulong L2Compressed = 1UL << 62;
    private const ulong L2OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;
    private const ulong L2StandardReserved = 0x3F00_0000_0000_01FEUL;

    private readonly int clusterBits = header.ClusterBits;
    private readonly int clusterSize = header.ClusterSize;
    private readonly int compressedShift = 62 - (header.ClusterBits - 8);

    public int EntrySize => header.ExtendedL2 ? 16 : 8;

    /// <summary>The L2 table's offset for an L1 entry, or 0 when the whole range is unallocated.</summary>
    public long L2Offset(ulong entry, long entryOffset)
    {
        if ((entry & L1Reserved) != 0)
        {
            throw new ImageException(ImageErrors.Qcow2L1ReservedBits, $"L1 entry 0x{entry:X16} has reserved bits set.", entryOffset);
        }

        var offset = (long)(entry & L1OffsetMask);
        if (offset == 0)
        {
            return 0;
        }

        if ((offset & (clusterSize - 1)) != 0)
        {
            throw new ImageException(ImageErrors.Qcow2L2OffsetMisaligned, $"The L2 table offset 0x{offset:X} is not aligned to the {clusterSize}-byte cluster.", entryOffset);
        }

        if (fileLength is { } length && offset + clusterSize > length)
        {
            throw new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The L2 table at 0x{offset:X} lies beyond the end of the {length:N0}-byte file.", entryOffset);
        }

        return offset;
    }

    /// <summary>Decodes the L2 entry at <paramref name="index"/> of <paramref name="table"/>.</summary>
    /// <param name="bytesNeeded">How much of the cluster the disk uses (less for the last cluster), for the end-of-file check.</param>
    public Qcow2Cluster Decode(ReadOnlySpan<byte> table, int index, long tableOffset, int bytesNeeded)
    {
        var at = index * EntrySize;
        var entry = BinaryPrimitives.ReadUInt64BigEndian(table[at..]);
        var entryOffset = tableOffset + at;
        if ((entry & L2Compressed) != 0)
        {
            if (header.ExtendedL2 && BinaryPrimitives.ReadUInt64BigEndian(table[(at + 8)..]) != 0)
            {
                throw new ImageException(ImageErrors.Qcow2SubclusterBitmapInvalid, "A compressed cluster has a non-zero subcluster bitmap.", entryOffset + 8);
            }

            var descriptor = entry & ((1UL << 62) - 1);
            var offset = (long)(descriptor & ((1UL << compressedShift) - 1));
            var sectors = (int)((descriptor >> compressedShift) & ((1UL << (clusterBits - 8)) - 1)) + 1;
            var length = (sectors * 512) - (int)(offset & 511);
            if (offset == 0 || offset >= Qcow2Header.MaxHostOffset)
            {
                throw new ImageException(ImageErrors.Qcow2CompressedOffsetInvalid, $"Compressed cluster offset 0x{offset:X} is invalid.", entryOffset);
            }

            if (fileLength is { } fileEnd)
            {
                // The compressed bytes may end short of their last sector at the end of the file.
                if (offset >= fileEnd || offset + length - 511 > fileEnd)
                {
                    throw new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"Compressed data at 0x{offset:X} ({length} bytes) lies beyond the end of the {fileEnd:N0}-byte file.", entryOffset);
                }
            }

            return new Qcow2Cluster(Qcow2ClusterKind.Compressed, offset, length, 0, length);
        }

        if ((entry & L2StandardReserved) != 0)
        {
            throw new ImageException(ImageErrors.Qcow2L2ReservedBits, $"L2 entry 0x{entry:X16} has reserved bits set.", entryOffset);
        }

        var host = (long)(entry & L2OffsetMask);
        if ((host & (clusterSize - 1)) != 0)
        {
            throw new ImageException(ImageErrors.Qcow2DataOffsetMisaligned, $"The data cluster offset 0x{host:X} is not aligned to the {clusterSize}-byte cluster.", entryOffset);
        }

        var zeroFlag = (entry & 1) != 0;
        if (header.ExtendedL2)
        {
            if (zeroFlag)
            {
                throw new ImageException(ImageErrors.Qcow2L2ReservedBits, "Bit 0 of an extended L2 entry is reserved but set.", entryOffset);
            }

            var bitmap = BinaryPrimitives.ReadUInt64BigEndian(table[(at + 8)..]);
            var allocated = (uint)bitmap;
            var zeros = (uint)(bitmap >> 32);
            if ((allocated & zeros) != 0)
            {
                throw new ImageException(ImageErrors.Qcow2SubclusterBitmapInvalid, $"Subcluster bitmap 0x{bitmap:X16} marks subclusters both allocated and zero.", entryOffset + 8);
            }

            if (host == 0 && allocated != 0)
            {
                throw new ImageException(ImageErrors.Qcow2SubclusterBitmapInvalid, $"Subcluster bitmap 0x{bitmap:X16} marks subclusters allocated in an unallocated cluster.", entryOffset + 8);
            }

            if (allocated == 0)
            {
                return Qcow2Cluster.Zero;
            }

            var lastAllocated = 31 - System.Numerics.BitOperations.LeadingZeroCount(allocated);
            var hostBytes = Math.Min(bytesNeeded, (lastAllocated + 1) * (clusterSize / 32));
            CheckInsideFile(host, hostBytes, entryOffset);
            return new Qcow2Cluster(Qcow2ClusterKind.Subclusters, host, 0, allocated, hostBytes);
        }

        if (zeroFlag)
        {
            if (header.Version == 2)
            {
                throw new ImageException(ImageErrors.Qcow2ZeroFlagInV2, "A version 2 image may not have zero clusters, but this L2 entry has the zero flag.", entryOffset);
            }

            return Qcow2Cluster.Zero;
        }

        if (host == 0)
        {
            return Qcow2Cluster.Zero;
        }

        CheckInsideFile(host, bytesNeeded, entryOffset);
        return new Qcow2Cluster(Qcow2ClusterKind.Data, host, 0, 0, bytesNeeded);
    }

    private void CheckInsideFile(long host, int bytesNeeded, long entryOffset)
    {
        if (host >= Qcow2Header.MaxHostOffset || (fileLength is { } length && host + bytesNeeded > length))
        {
            throw new ImageException(ImageErrors.Qcow2OffsetBeyondEndOfFile, $"The data cluster at 0x{host:X} lies beyond the end of the {(fileLength ?? 0):N0}-byte file.", entryOffset);
        }
    }
}
