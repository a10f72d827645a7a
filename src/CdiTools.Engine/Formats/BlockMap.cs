namespace CdiTools.Engine.Formats;

/// <summary>
/// A disk cut into equal blocks, each either absent (read as zeros) or stored whole at one place in
/// the file: the layout VHD's block allocation table and VDI's block map share. An entry is a
/// block number that becomes a file offset as <c>hostBase + entry * hostUnit</c>.
/// </summary>
internal sealed class BlockMap : IExtentMap
{
    private readonly uint[] entries;
    private readonly long hostBase;
    private readonly long hostUnit;
    private readonly uint firstAbsent;

    /// <param name="entries">The table, at least one entry per block of the disk.</param>
    /// <param name="firstAbsent">Entries at or above this value mean "no data here, read zeros".</param>
    /// <param name="errors">The format's errors (VHD's, VDI's).</param>
    public BlockMap(uint[] entries, int blockSize, long virtualSize, long hostBase, long hostUnit, uint firstAbsent, BlockMapErrors errors)
    {
        this.entries = entries;
        this.hostBase = hostBase;
        this.hostUnit = hostUnit;
        this.firstAbsent = firstAbsent;
        BlockSize = blockSize;
        VirtualSize = virtualSize;
        BlockCount = (virtualSize + blockSize - 1) / blockSize;
        Errors = errors;
        if (entries.LongLength < BlockCount)
        {
            throw new ArgumentException("The table does not cover the disk.", nameof(entries));
        }
    }

    public int BlockSize { get; }

    public long VirtualSize { get; }

    public long BlockCount { get; }

    public BlockMapErrors Errors { get; }

    int IExtentMap.ClusterSize => BlockSize;

    long IExtentMap.DiskSize => VirtualSize;

    ImageError IExtentMap.TruncatedError => Errors.OffsetBeyondEndOfFile;

    string IExtentMap.DataName => "a block";

    public bool IsPresent(long block) => entries[block] < firstAbsent;

    public uint Entry(long block) => entries[block];

    public DiskExtent Describe(long cluster) =>
        IsPresent(cluster) ? DiskExtent.Data(HostOffset(cluster), GuestBytes(cluster)) : DiskExtent.Zeros(1);

    public long HostOffsetOfEntry(uint entry) => hostBase + (entry * hostUnit);

    public long HostOffset(long block) => HostOffsetOfEntry(entries[block]);

    /// <summary>The disk bytes of a block: the last one stops at the virtual size.</summary>
    public int GuestBytes(long block) => (int)Math.Min(BlockSize, VirtualSize - (block * BlockSize));

    /// <summary>The disk bytes of the blocks [first, end).</summary>
    public long GuestBytes(long first, long end) => Math.Min(end * BlockSize, VirtualSize) - (first * BlockSize);

    /// <summary>Refuses a block whose disk bytes lie past the end of the file: qemu would read zeros there.</summary>
    public void CheckInside(long fileLength)
    {
        for (long block = 0; block < BlockCount; block++)
        {
            if (IsPresent(block) && HostOffset(block) + GuestBytes(block) > fileLength)
            {
                throw new ImageException(
                    Errors.OffsetBeyondEndOfFile,
                    $"Block {block:N0} of the disk lies at 0x{HostOffset(block):X}, past the end of the {fileLength:N0}-byte image: it is truncated or damaged.",
                    HostOffset(block));
            }
        }
    }
}
