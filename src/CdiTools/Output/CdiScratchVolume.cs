using CdiTools.Cluster.Scratch;

namespace CdiTools;

/// <summary>
/// A scratch PVC CDI made for an import or upload, as Get-CdiScratchVolume shows it: what it
/// serves, its class, size, phase and age, why it is still Pending, and whether it is left over.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiScratchVolume
{
    internal CdiScratchVolume(ScratchVolume volume)
    {
        Volume = volume;
        PendingCause = volume.PendingCause is { } cause ? new CdiScratchFinding(cause) : null;
    }

    public string Namespace => Volume.Namespace;

    public string Name => Volume.Name;

    /// <summary>The DataVolume whose import it serves; empty when the PVC was imported without one, or is gone.</summary>
    public string DataVolume => Volume.DataVolume ?? string.Empty;

    /// <summary>The PVC the import writes to: the DataVolume's, or CDI's PVC prime (prime-&lt;uid&gt;) that stands in for it.</summary>
    public string Claim => Volume.Claim;

    /// <summary>The PVC the data ends up in; empty when it is gone.</summary>
    public string TargetPvc => Volume.TargetPvc ?? string.Empty;

    /// <summary>The importer or upload server pod that owns it.</summary>
    public string Pod => Volume.Pod ?? string.Empty;

    /// <summary>Its class; empty when it has none (a PersistentVolume without a class must take it).</summary>
    public string StorageClass => Volume.StorageClass ?? string.Empty;

    /// <summary>The request in bytes.</summary>
    public long Size => Volume.Size;

    /// <summary>The bound volume's capacity in bytes; null while Pending.</summary>
    public long? Capacity => Volume.Capacity;

    /// <summary>Pending, Bound, Lost, or Terminating.</summary>
    public string Phase => Volume.Phase;

    public DateTime? Created => Volume.Created;

    public TimeSpan? Age => KubectlAge.Since(Volume.Created);

    /// <summary>Age as kubectl prints it: 45s, 12m, 3h, 5d.</summary>
    public string AgeText => KubectlAge.Format(Age);

    /// <summary>Why it is Pending, with the same ids and fixes as Test-CdiScratchSpace; null when it is not.</summary>
    public CdiScratchFinding? PendingCause { get; }

    /// <summary>Nothing needs it any more; Remove-CdiScratchVolume removes only these.</summary>
    public bool Orphaned => Volume.Orphaned;

    /// <summary>Why it is orphaned: its PVC is gone, its import finished, its pod is gone.</summary>
    public string OrphanReason => Volume.OrphanReason ?? string.Empty;

    internal ScratchVolume Volume { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Namespace}/{Name}";
}
