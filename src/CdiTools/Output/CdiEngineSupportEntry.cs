using System.Management.Automation;
using CdiTools.Cluster.Support;

namespace CdiTools;

/// <summary>
/// One cell of Get-CdiSupportMatrix -Engine: whether Import-CdiImage converts a format from an
/// endpoint on the client, how it reads it and with how many scratch bytes, beside CDI's own mark.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiEngineSupportEntry
{
    private readonly EngineSupportEntry entry;

    internal CdiEngineSupportEntry(EngineSupportEntry entry) => this.entry = entry;

    public CdiContentType ContentType => entry.ContentType;

    /// <summary>The image as a file name ends: qcow2, qcow2.gz, raw.xz, vmdk, vhd, vhdx, vdi, tar.</summary>
    public string Format => entry.Format;

    public CdiEndpoint Endpoint => entry.Endpoint;

    /// <summary>True when Import-CdiImage converts the image itself and sends CDI a raw disk.</summary>
    public bool ClientSide => entry.ClientSide;

    /// <summary>Random (reads only the mapped parts) or Stream (one forward pass); empty when not client-side.</summary>
    public string? Access => entry.Access;

    /// <summary>Scratch bytes kept on the client; empty when the conversion is not client-side.</summary>
    public long? ScratchBytes => entry.ScratchBytes;

    /// <summary>CDI's own mark for the same cell: S, S*, S** or -.</summary>
    public string CdiMark => entry.CdiMark;

    /// <summary>True when CDI still allocates a scratch PVC for the import.</summary>
    public bool ClusterScratchPvc => entry.ClusterScratchPvc;

    public string? Command => entry.Command;

    public string? Note => entry.Notes.Count == 0 ? null : string.Join(" ", entry.Notes);

    /// <summary>The CDI release CdiMark is for; empty for CDI's documentation.</summary>
    public string? CdiVersion => entry.Release?.ToString();

    /// <summary>What CdiMark is taken from: "CDI documentation" or "CDI v1.66.0".</summary>
    public string Matrix => SupportMatrix.SourceName(entry.Release);

    /// <inheritdoc />
    public override string ToString() => $"{Format} from {Endpoint}: {(ClientSide ? $"client-side, {ScratchBytes} scratch bytes" : "by CDI")}";
}
