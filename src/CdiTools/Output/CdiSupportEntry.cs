using System.Management.Automation;
using CdiTools.Cluster.Support;

namespace CdiTools;

/// <summary>
/// One cell of CDI's support matrix as Get-CdiSupportMatrix writes it: whether CDI imports a
/// format from an endpoint and whether that needs scratch space, for the documentation or a release.
/// </summary>
/// <remarks>
/// Output types live in this assembly, which PowerShell's own load context holds, so that
/// <c>[CdiTools.CdiSupportEntry]</c> resolves in a session; the cluster layer's types load in the
/// module's context, where PowerShell cannot name them. Each is a view over the cluster layer's
/// record and holds it by reference: PowerShell loads every public type of this assembly before
/// the module's load context is in place, and a field of one of that layer's value types would
/// need CdiTools.Cluster.dll at that moment.
/// </remarks>
public sealed class CdiSupportEntry
{
    private readonly SupportEntry entry;

    internal CdiSupportEntry(SupportEntry entry) => this.entry = entry;

    public CdiContentType ContentType => entry.ContentType;

    public CdiImageFormat Format => entry.Format;

    public CdiEndpoint Endpoint => entry.Endpoint;

    /// <summary>S, S* (needs scratch), S** (needs scratch under <see cref="Condition"/>) or - (not supported).</summary>
    public string Mark => entry.Mark;

    public bool Supported => entry.Supported;

    /// <summary>True when the import may allocate a scratch PVC: always, or under <see cref="Condition"/>.</summary>
    public bool RequiresScratch => entry.RequiresScratch;

    public string? Condition => entry.Condition;

    /// <summary>Why scratch space is needed, why the import is not supported, or how the release behaves.</summary>
    public string? Reason => entry.Reason;

    /// <summary>Footnotes: limits, disagreements within CDI's documentation, departures from it.</summary>
    public string? Note => entry.Notes.Count == 0 ? null : string.Join(" ", entry.Notes);

    /// <summary>Which storage class the scratch PVC gets, for entries that need scratch space.</summary>
    public string? ScratchStorageClass => entry.ScratchStorageClass;

    /// <summary>The CDI release answered for; null when the answer is CDI's documentation.</summary>
    public string? CdiVersion => entry.Release?.ToString();

    public string DocumentedMark => entry.DocumentedMark;

    public bool DiffersFromDocumentation => entry.DiffersFromDocumentation;

    /// <summary>What the answer is taken from: "CDI documentation" or "CDI v1.66.0".</summary>
    public string Matrix => SupportMatrix.SourceName(entry.Release);

    /// <summary>The heading of the default table view: source and legend.</summary>
    [Hidden]
    public string Heading => SupportMarks.Heading(entry.Release, grid: false);

    /// <inheritdoc />
    public override string ToString() => $"{ContentType} {Format} from {Endpoint}: {Mark}";
}
