using CdiTools.Cluster.Scratch;

namespace CdiTools;

/// <summary>
/// Test-CdiScratchSpace's answer for one DataVolume: whether CDI makes a scratch PVC for its
/// import, which class and size it gets by the installed release's rules, and what stops it
/// binding, each finding with an id, a severity, the numbers and a fix.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiScratchSpaceReport
{
    private readonly ScratchSpaceReport report;

    internal CdiScratchSpaceReport(ScratchSpaceReport report)
    {
        this.report = report;
        Findings = [.. report.Findings.Select(f => new CdiScratchFinding(f))];
    }

    /// <summary>namespace/name; the name is "(planned)" for a DataVolume described by parameters without -Name.</summary>
    public string DataVolume => report.DataVolume;

    /// <summary>No finding of severity Error: the scratch PVC can be created and bound.</summary>
    public bool Ready => report.Ready;

    public bool ScratchRequired => report.ScratchRequired;

    /// <summary>Why CDI does (or does not) make a scratch PVC, from the support matrix of the installed release.</summary>
    public string ScratchReason => report.ScratchReason;

    /// <summary>The scratch PVC's class; empty when none resolves (manual provisioning: a PersistentVolume without a class must take it).</summary>
    public string StorageClass => report.StorageClass ?? string.Empty;

    /// <summary>The order in which CDI picks that class, the deciding step marked, as Get-CdiScratchStorageClass shows it.</summary>
    public string Resolution => ScratchStorageClassRules.Describe(report.Resolution);

    /// <summary>The scratch PVC's request in bytes, by CDI's formula for the installed release; 0 when none is made.</summary>
    public long Size => report.Size;

    /// <summary>The target PVC's request in bytes as CDI renders it (the storage API adds the filesystem overhead).</summary>
    public long? TargetSize => report.TargetSize;

    public string? CdiVersion => report.CdiVersion;

    public IReadOnlyList<CdiScratchFinding> Findings { get; }

    /// <inheritdoc />
    public override string ToString() => $"{report.DataVolume}: {(report.Ready ? "ready" : "not ready")}";
}

/// <summary>One finding of Test-CdiScratchSpace: Id (ScratchQuotaExceeded, ...), Severity (Error, Warning, Info), Message and Fix.</summary>
public sealed class CdiScratchFinding
{
    internal CdiScratchFinding(ScratchFinding finding)
    {
        Id = finding.Id;
        Severity = finding.Severity.ToString();
        Message = finding.Message;
        Fix = finding.Fix;
    }

    public string Id { get; }

    /// <summary>Error (the scratch PVC will not bind), Warning or Info.</summary>
    public string Severity { get; }

    public string Message { get; }

    /// <summary>What to run or change.</summary>
    public string Fix { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Severity} {Id}: {Message}";
}
