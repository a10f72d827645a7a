namespace CdiTools.Engine.Formats;

/// <summary>
/// A format's description of its disk as equal clusters (clusters, grains, blocks), each of them
/// zeros, plain data or compressed data somewhere in the file; <see cref="RandomExtentReader"/>
/// walks it in guest order. Adding a format readable at random means writing one of these.
/// </summary>
internal interface IExtentMap
{
    int ClusterSize { get; }

    /// <summary>The disk's size in bytes; the last cluster may end short of a whole cluster.</summary>
    long DiskSize { get; }

    /// <summary>The format's error for data the file ends inside.</summary>
    ImageError TruncatedError { get; }

    /// <summary>A stored cluster, as an error names it ("a data cluster", "a grain").</summary>
    string DataName => "a data cluster";

    /// <summary>The file, as an error names it ("The image", "The extent 'a.vmdk'").</summary>
    string Subject => "The image";

    /// <summary>
    /// What the disk holds from <paramref name="cluster"/> on, reading tables as needed. Called in
    /// increasing order of clusters, each at most once.
    /// </summary>
    DiskExtent Describe(long cluster);

    /// <summary>Completes <paramref name="disk"/>, the bytes of a <see cref="DiskExtent.Patched"/> extent from <paramref name="offset"/> on, once read from the file.</summary>
    void Patch(in DiskExtent extent, long offset, Span<byte> disk)
    {
    }

    /// <summary>Where the compressed bytes lie in what was read for a compressed extent (after a marker, say).</summary>
    (int Start, int Length) Locate(in DiskExtent extent, ReadOnlySpan<byte> stored) => (0, stored.Length);

    /// <summary>Decodes every cluster of <paramref name="batch"/>, on every core.</summary>
    void Decode(CompressedBatch batch, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("This format has no compressed clusters.");
}
