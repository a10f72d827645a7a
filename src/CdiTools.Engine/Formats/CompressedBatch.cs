namespace CdiTools.Engine.Formats;

/// <summary>
/// Compressed clusters that follow one another on the disk, read from the file together and
/// decoded in parallel straight into the output: cluster <c>i</c> of the batch is decoded from
/// <see cref="Stored"/> into <see cref="Cluster"/>. Kept from batch to batch, so a batch costs no
/// allocation beyond its pooled input buffer.
/// </summary>
internal sealed class CompressedBatch(int capacity, int clusterSize)
{
    private readonly DiskExtent[] extents = new DiskExtent[capacity];
    private readonly int[] starts = new int[capacity];
    private readonly int[] lengths = new int[capacity];
    private readonly int[] needed = new int[capacity];

    public int Capacity => capacity;

    public int Count { get; private set; }

    /// <summary>The bytes read from the file; <see cref="Start"/> and <see cref="Length"/> say where each cluster's are.</summary>
    public byte[] Input { get; set; } = [];

    /// <summary>Where the decoded clusters go, one whole cluster each.</summary>
    public Memory<byte> Output { get; set; }

    public DiskExtent Extent(int index) => extents[index];

    public int Start(int index) => starts[index];

    public int Length(int index) => lengths[index];

    /// <summary>The disk bytes cluster <paramref name="index"/> must produce: less than a cluster only at the disk's end.</summary>
    public int Needed(int index) => needed[index];

    public ReadOnlySpan<byte> Stored(int index) => Input.AsSpan(starts[index], lengths[index]);

    public Span<byte> Cluster(int index) => Output.Span.Slice(index * clusterSize, clusterSize);

    public void Clear() => Count = 0;

    public void Add(in DiskExtent extent, int neededBytes)
    {
        extents[Count] = extent;
        needed[Count] = neededBytes;
        Count++;
    }

    public void Locate(int index, int start, int length)
    {
        starts[index] = start;
        lengths[index] = length;
    }
}
