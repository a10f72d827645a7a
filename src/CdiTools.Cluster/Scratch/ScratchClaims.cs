using k8s.Models;

namespace CdiTools.Cluster.Scratch;

/// <summary>
/// How CDI names and marks the PVCs around an import, so a scratch PVC can be told from a user's
/// claim and traced back to what it serves (pkg/controller/util.go newScratchPersistentVolumeClaimSpec,
/// pkg/controller/populators/populator-base.go).
/// </summary>
public static class ScratchClaims
{
    /// <summary>CDI names a scratch PVC after the claim it serves (common.ScratchNameSuffix).</summary>
    public const string Suffix = "-scratch";

    /// <summary>The PVC prime CDI's populators import into stands in for the target, named after the target's uid.</summary>
    public const string PrimePrefix = "prime-";

    /// <summary>The phase of the claim's importer pod, which CDI copies onto the claim.</summary>
    public const string PodPhaseAnnotation = "cdi.kubevirt.io/storage.pod.phase";

    /// <summary>Set on the target by CDI v1.64 and later: the name of its PVC prime.</summary>
    public const string PrimeNameAnnotation = "cdi.kubevirt.io/storage.populator.pvcPrime";

    /// <summary>Set on the claim once an importer reported that it needs scratch space.</summary>
    public const string RequiresScratchAnnotation = "cdi.kubevirt.io/storage.import.requiresScratch";

    private const string AppLabel = "app";
    private const string CdiApp = "containerized-data-importer";

    /// <summary>
    /// True for a scratch PVC: CDI's label and name, owned by a pod (the importer) or by nothing
    /// once orphaned, and none of the <c>cdi.kubevirt.io/storage.</c> annotations CDI puts on the
    /// claims it imports into (a DataVolume named "x-scratch" has a PVC of that name too).
    /// </summary>
    public static bool IsScratch(V1PersistentVolumeClaim claim)
    {
        var meta = claim.Metadata;
        if (meta?.Name is not { } name || !name.EndsWith(Suffix, StringComparison.Ordinal) || name.Length == Suffix.Length
            || meta.Labels?.TryGetValue(AppLabel, out var app) != true || app != CdiApp)
        {
            return false;
        }

        if (meta.Annotations?.Keys.Any(k => k.StartsWith("cdi.kubevirt.io/storage.", StringComparison.Ordinal)) == true)
        {
            return false;
        }

        return meta.OwnerReferences is not { Count: > 0 } owners || owners.Any(o => o.Kind == "Pod");
    }

    /// <summary>The claim a scratch PVC serves, by CDI's naming.</summary>
    public static string ClaimName(string scratchName) =>
        scratchName.EndsWith(Suffix, StringComparison.Ordinal) ? scratchName[..^Suffix.Length] : scratchName;

    /// <summary>The scratch PVC CDI makes for <paramref name="claimName"/>.</summary>
    public static string ScratchName(string claimName) => claimName + Suffix;

    /// <summary>The PVC prime CDI's populators make for a target PVC.</summary>
    public static string PrimeName(V1PersistentVolumeClaim target) =>
        target.Metadata.Annotations?.TryGetValue(PrimeNameAnnotation, out var named) == true && !string.IsNullOrEmpty(named)
            ? named
            : PrimePrefix + target.Metadata.Uid;

    /// <summary>
    /// The claim a scratch PVC serves and the target PVC the data ends up in, from the claims of its
    /// namespace: the claim itself, or for a PVC prime the PVC that owns it (or, once the prime is
    /// gone, the PVC whose uid names it).
    /// </summary>
    public static (V1PersistentVolumeClaim? Claim, V1PersistentVolumeClaim? Target) Resolve(V1PersistentVolumeClaim scratch, IEnumerable<V1PersistentVolumeClaim> claims)
    {
        var ns = scratch.Metadata.NamespaceProperty;
        var local = claims.Where(c => c.Metadata.NamespaceProperty == ns).ToList();
        var claimName = ClaimName(scratch.Metadata.Name);
        var claim = local.FirstOrDefault(c => c.Metadata.Name == claimName);
        if (!claimName.StartsWith(PrimePrefix, StringComparison.Ordinal))
        {
            return (claim, claim);
        }

        var owner = claim?.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "PersistentVolumeClaim");
        var uid = owner?.Uid ?? claimName[PrimePrefix.Length..];
        var target = local.FirstOrDefault(c => c.Metadata.Uid == uid)
            ?? (owner is null ? null : local.FirstOrDefault(c => c.Metadata.Name == owner.Name));
        return (claim, target);
    }

    /// <summary>The DataVolume that owns a target PVC, by its owner reference.</summary>
    public static string? DataVolumeOf(V1PersistentVolumeClaim? target) =>
        target?.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == Models.DataVolume.KindName)?.Name;
}
