namespace CdiTools.Cluster.Support;

/// <summary>
/// One cell of the engine's view of the support matrix: whether Import-CdiImage converts an image
/// of <see cref="Format"/> from <see cref="Endpoint"/> on the client, how it reads it, and how many
/// scratch bytes that keeps, beside what CDI itself does with the same cell.
/// </summary>
public sealed record EngineSupportEntry
{
    public required CdiContentType ContentType { get; init; }

    /// <summary>The image as a file name ends: qcow2, qcow2.gz, raw.xz, vmdk, vhd, vhdx, vdi, tar.</summary>
    public required string Format { get; init; }

    /// <summary>The row of CDI's matrix this is; null for formats CDI's table does not list.</summary>
    public CdiImageFormat? CdiFormat { get; init; }

    public required CdiEndpoint Endpoint { get; init; }

    /// <summary>True when Import-CdiImage converts the image itself and sends CDI a raw disk.</summary>
    public required bool ClientSide { get; init; }

    /// <summary>How the engine reads the image: Random (only the mapped parts, by file reads or HTTP
    /// ranges), Stream (one forward pass), or null when it does not convert it.</summary>
    public string? Access { get; init; }

    /// <summary>Scratch bytes kept on the client; null when the conversion is not client-side.</summary>
    public long? ScratchBytes { get; init; }

    /// <summary>CDI's own mark for the cell (documented or for the release asked about).</summary>
    public required string CdiMark { get; init; }

    /// <summary>True when CDI still allocates a scratch PVC: for client-side conversions the raw disk
    /// arrives as an upload, and CDI's upload controller allocates one that stays empty.</summary>
    public required bool ClusterScratchPvc { get; init; }

    /// <summary>The command that imports such an image; null where neither CdiTools nor CDI can.</summary>
    public string? Command { get; init; }

    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The CDI release <see cref="CdiMark"/> is for; null for the documentation.</summary>
    public CdiVersion? Release { get; init; }
}
