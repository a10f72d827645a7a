namespace CdiTools.Cluster.Scratch;

/// <summary>
/// One scratch PVC CDI made for an import or upload: what it serves, how big and where it is, why
/// it is still Pending, and whether it is left over.
/// </summary>
public sealed record ScratchVolume
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>The claim's uid, so a removal cannot hit a claim made again under the same name.</summary>
    public required string Uid { get; init; }

    /// <summary>
    /// The PVC whose import the scratch PVC serves: the DataVolume's PVC, or on CDI's populator path
    /// the PVC prime (<c>prime-&lt;uid&gt;</c>) that stands in for it while the import runs.
    /// </summary>
    public required string Claim { get; init; }

    /// <summary>The DataVolume's (or user's) PVC the data ends up in; null when it is gone.</summary>
    public string? TargetPvc { get; init; }

    /// <summary>The DataVolume that owns the target PVC; null for a PVC imported without one, or when it is gone.</summary>
    public string? DataVolume { get; init; }

    /// <summary>The importer or upload server pod that owns the scratch PVC.</summary>
    public string? Pod { get; init; }

    public string? StorageClass { get; init; }

    /// <summary>The request in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The bound volume's capacity in bytes; null while Pending.</summary>
    public long? Capacity { get; init; }

    /// <summary>Pending, Bound or Lost; Terminating once deleted and held by a finalizer.</summary>
    public required string Phase { get; init; }

    public DateTime? Created { get; init; }

    /// <summary>Why a Pending scratch PVC does not bind, as a finding with a fix; null when it is not Pending.</summary>
    public ScratchFinding? PendingCause { get; init; }

    /// <summary>What makes it a leftover (its PVC gone, its import finished); null while an import still needs it.</summary>
    public string? OrphanReason { get; init; }

    /// <summary>Nothing needs it any more: its target is gone or finished, or its pod is gone.</summary>
    public bool Orphaned => OrphanReason is not null;
}
