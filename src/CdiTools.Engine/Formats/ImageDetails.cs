namespace CdiTools.Engine.Formats;

/// <summary>What a format driver learned from an image's headers, before converting it.</summary>
public sealed record ImageDetails
{
    /// <summary>The format name as qemu-img names it: raw, qcow2, vmdk, vpc, vhdx, vdi.</summary>
    public required string Format { get; init; }

    /// <summary>The variant within the format, where it has several (vmdk: monolithicSparse, streamOptimized;
    /// vpc, vhdx and vdi: fixed or dynamic).</summary>
    public string? Subformat { get; init; }

    /// <summary>The disk's size; null for a raw stream whose end is not known until it is read.</summary>
    public long? VirtualSize { get; init; }

    /// <summary>The format's version (qcow2: 2 or 3).</summary>
    public int? Version { get; init; }

    public int? ClusterSize { get; init; }

    /// <summary>How compressed clusters are compressed (deflate, zstd), where the format has them.</summary>
    public string? CompressionType { get; init; }

    /// <summary>Feature names set in the image (qcow2: incompatible, compatible and autoclear bits by name).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>The backing file the image names, if any (conversion refuses such images).</summary>
    public string? BackingFile { get; init; }

    public string? BackingFormat { get; init; }

    /// <summary>The external data file the image names, if any (refused).</summary>
    public string? DataFile { get; init; }

    /// <summary>The encryption method, if any (refused).</summary>
    public string? Encryption { get; init; }

    public int Snapshots { get; init; }

    /// <summary>Things the conversion does that a reader of the result should know, such as a
    /// fixed VHD's footer left out of the disk.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The length of the image file itself, where known.</summary>
    public long? FileLength { get; init; }
}
