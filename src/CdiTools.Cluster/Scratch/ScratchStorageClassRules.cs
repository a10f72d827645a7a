using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Scratch;

/// <summary>One step of the order in which CDI picks a scratch PVC's storage class.</summary>
/// <param name="Order">1 for the first rule tried.</param>
/// <param name="Rule">What the step takes, in words.</param>
/// <param name="Value">What the step gives on this cluster, or why it gives nothing.</param>
/// <param name="Applies">True for the step that decides.</param>
public sealed record ResolutionStep(int Order, string Rule, string Value, bool Applies);

/// <summary>
/// How CDI picks the storage class of a scratch PVC. The CDIConfig controller writes
/// status.scratchSpaceStorageClass: the configured class if that StorageClass exists, and before
/// v1.65.0 else the cluster's default class (CDI pull request 4054 dropped that fallback). Each
/// scratch PVC then gets that class, else its DataVolume's, else none, so that admission gives it
/// the cluster's default (pkg/controller/util.go GetScratchPvcStorageClass).
/// </summary>
public static class ScratchStorageClassRules
{
    /// <summary>Whether <paramref name="release"/> still falls back to the cluster's default class; the current rule when unknown.</summary>
    public static bool FallsBackToDefaultClass(CdiVersion? release) =>
        release is { } version && !SupportMatrix.Cdi.Changes.Single(c => c.PullRequest == NoDefaultFallbackChange).IsIn(version);

    /// <summary>The CDI pull request that stopped the fallback to the default class.</summary>
    public const int NoDefaultFallbackChange = 4054;

    /// <summary>What CDIConfig's status will say for <paramref name="configured"/>: the class, a fallback, or null for "".</summary>
    public static string? ExpectedStatus(string? configured, IReadOnlyCollection<string> existingClasses, string? defaultClass, CdiVersion? release) =>
        configured is not null && existingClasses.Contains(configured) ? configured
        : FallsBackToDefaultClass(release) ? defaultClass
        : null;

    /// <summary>The steps as lines, the deciding one marked with an arrow, as the default views show them.</summary>
    public static string Describe(IEnumerable<ResolutionStep> steps) =>
        string.Join(Environment.NewLine, steps.Select(step => $"{(step.Applies ? "->" : "  ")} {step.Order}. {step.Rule}: {step.Value}"));

    /// <summary>
    /// The steps for this cluster, the deciding one marked. <paramref name="dataVolumeClass"/> is the
    /// class a given DataVolume asks for (null when it asks for none, or when no DataVolume was named:
    /// then <paramref name="forDataVolume"/> is false and the step says it depends on the DataVolume).
    /// </summary>
    public static IReadOnlyList<ResolutionStep> Resolve(
        string? configured,
        IReadOnlyCollection<string> existingClasses,
        string? defaultClass,
        CdiVersion? release,
        bool forDataVolume,
        string? dataVolumeClass)
    {
        var steps = new List<(string Rule, string Value, bool Gives)>();
        var configuredExists = configured is not null && existingClasses.Contains(configured);
        steps.Add((
            "scratchSpaceStorageClass from CDI's configuration, if that StorageClass exists",
            configured is null ? "not set" : configuredExists ? configured : $"{configured}: no such StorageClass, so skipped",
            configuredExists));
        if (FallsBackToDefaultClass(release))
        {
            steps.Add(("the cluster's default StorageClass (CDI before v1.65.0)", defaultClass ?? "no default StorageClass", defaultClass is not null));
        }

        steps.Add((
            "the DataVolume's own storage class",
            !forDataVolume ? "depends on each DataVolume" : dataVolumeClass ?? "the DataVolume names none",
            !forDataVolume || dataVolumeClass is not null));
        steps.Add((
            "none: the scratch PVC gets the cluster's default class from admission",
            defaultClass is null ? "no default StorageClass: the PVC stays Pending" : defaultClass,
            true));

        var deciding = steps.FindIndex(s => s.Gives);
        return steps.Select((s, i) => new ResolutionStep(i + 1, s.Rule, s.Value, i == deciding)).ToList();
    }
}
