namespace CdiTools.Engine.Formats;

/// <summary>How the bytes of a run of guest clusters are stored.</summary>
internal enum DiskExtentKind
{
    /// <summary>Reads as zeros (unallocated, a zero cluster, an absent block): nothing is read.</summary>
    Zeros,

    /// <summary>Stored as they are at <see cref="DiskExtent.HostOffset"/>.</summary>
    Data,

    /// <summary>Compressed, at most <see cref="DiskExtent.HostBytes"/> bytes from <see cref="DiskExtent.HostOffset"/>.</summary>
    Compressed,
}

/// <summary>
/// What a format's map says of the disk from one cluster on: <see cref="Clusters"/> clusters of
/// zeros, or one cluster stored plain or compressed. For plain data, <see cref="HostBytes"/> is how
/// much of the cluster the file holds (the rest reads as zeros); for compressed data, how much may
/// be read to find it. <see cref="Patched"/> data goes through <see cref="IExtentMap.Patch"/> after
/// it is read (subclusters to clear, a replayed log to lay over it), with <see cref="Detail"/> for
/// what the map needs to know there.
/// </summary>
internal readonly record struct DiskExtent(DiskExtentKind Kind, long HostOffset, int HostBytes, long Clusters, bool Patched, ulong Detail)
{
    public static DiskExtent Zeros(long clusters) => new(DiskExtentKind.Zeros, 0, 0, clusters, false, 0);

    public static DiskExtent Data(long hostOffset, int hostBytes) => new(DiskExtentKind.Data, hostOffset, hostBytes, 1, false, 0);

    public static DiskExtent Compressed(long hostOffset, int maxHostBytes) => new(DiskExtentKind.Compressed, hostOffset, maxHostBytes, 1, false, 0);
}
