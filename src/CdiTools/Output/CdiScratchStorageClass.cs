using CdiTools.Cluster.Scratch;

namespace CdiTools;

/// <summary>
/// Which storage class CDI gives scratch PVCs: what is configured and on which object, what CDI
/// computed, the CDI version and its rules, and the order CDI tries, with the deciding step marked;
/// for a DataVolume, the class its scratch PVC gets.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiScratchStorageClass
{
    private readonly ScratchStorageClassReport report;

    internal CdiScratchStorageClass(ScratchStorageClassReport report) => this.report = report;

    /// <summary>The class set on the owner; null when none is set.</summary>
    public string? Configured => report.Configured;

    /// <summary>The object the setting lives on: "HyperConverged ns/name", "CDI cdi" or "CDIConfig config".</summary>
    public string ConfiguredOn => report.Owner.Description;

    /// <summary>The field on that object.</summary>
    public string ConfiguredField => report.Owner.Field;

    /// <summary>Why that object is the owner.</summary>
    public string OwnerReason => report.Owner.Reason;

    /// <summary>CDIConfig's status.scratchSpaceStorageClass: what CDI computed; null when empty.</summary>
    public string? Effective => report.Effective;

    public string? CdiVersion => report.CdiVersion;

    public string? DefaultStorageClass => report.DefaultStorageClass;

    /// <summary>Which of CDI's rule sets applies: "CDI v1.65.0 and later" or "CDI before v1.65.0".</summary>
    public string Rules => report.Rules;

    /// <summary>The order in which CDI picks the class, with the deciding step marked (Applies).</summary>
    public IReadOnlyList<ResolutionStep> Resolution => report.Resolution;

    /// <summary>The DataVolume or PVC asked about, as namespace/name; null for the cluster-wide answer.</summary>
    public string? DataVolume => report.DataVolume;

    /// <summary>For a DataVolume: the class its scratch PVC gets; null when none, so admission's default.</summary>
    public string? ScratchClass => report.ScratchClass;

    /// <summary>What is likely to go wrong: a configured class that does not exist, a class with only Block volumes.</summary>
    public CdiTextList Warnings => new(report.Warnings);

    /// <summary>The resolution as lines, the deciding step marked with an arrow, for the default view.</summary>
    public string ResolutionText => ScratchStorageClassRules.Describe(report.Resolution);

    /// <inheritdoc />
    public override string ToString() => report.DataVolume is null ? report.Effective ?? "(none)" : report.ScratchClass ?? "(cluster default)";
}
