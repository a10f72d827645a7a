using CdiTools.Cluster.DataVolumes;

namespace CdiTools;

/// <summary>
/// A DataVolume as CdiTools shows it: like a row of <c>kubectl get dv</c> (name, phase, progress,
/// restarts, age), with its source, size and storage class, whether its import needs scratch space
/// and which class that would get, and its conditions.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiDataVolume
{
    private readonly DataVolumeView view;

    internal CdiDataVolume(DataVolumeView view) => this.view = view;

    public string Name => view.Name;

    public string Namespace => view.Namespace;

    /// <summary>CDI's phase (Pending, ImportScheduled, ImportInProgress, UploadReady, Succeeded, ...); empty until CDI reports one.</summary>
    public string Phase => view.Phase ?? string.Empty;

    /// <summary>CDI's progress text: "45.20%", "N/A" for uploads, empty before it starts.</summary>
    public string Progress => view.Progress ?? string.Empty;

    /// <summary>The progress as a number from 0 to 100; null when CDI gives none.</summary>
    public double? Percent => view.Percent;

    /// <summary>How often the importer pod restarted; CDI retries a failing import rather than failing it.</summary>
    public int Restarts => view.RestartCount;

    /// <summary>The requested size in bytes; null when CDI takes it from the clone source.</summary>
    public long? Size => view.Size;

    /// <summary>The storage class asked for; empty for the cluster default (or the StorageProfile's choice).</summary>
    public string StorageClass => view.StorageClass ?? string.Empty;

    /// <summary>The source in one line: "http https://...", "registry docker://...", "upload", "clone pvc ns/name".</summary>
    public string Source => view.Source;

    /// <summary>Whether the import goes through a scratch PVC; null when it depends on something CdiTools cannot see.</summary>
    public bool? RequiresScratch => view.Scratch.RequiresScratch;

    /// <summary>Why <see cref="RequiresScratch"/> is what it is, from CDI's support matrix for the cluster's release.</summary>
    public string ScratchReason => view.Scratch.Reason;

    /// <summary>The storage class the scratch PVC would get; empty when none is needed or none can be named.</summary>
    public string ScratchStorageClass => view.ScratchClass ?? string.Empty;

    public DateTime? Created => view.Created;

    /// <summary>How long ago the DataVolume was created.</summary>
    public TimeSpan? Age => KubectlAge.Since(view.Created);

    /// <summary>Age as kubectl prints it: 45s, 12m, 3h, 5d.</summary>
    public string AgeText => KubectlAge.Format(Age);

    /// <summary>
    /// Why the DataVolume waits for its scratch PVC, when it does: the scratch PVC is Pending (no
    /// volume, provisioning failed, nodes apart) or CDI could not create it (quota, LimitRange), as a
    /// finding with the same ids and fixes as Test-CdiScratchSpace. Null otherwise.
    /// </summary>
    public CdiScratchFinding? ScratchProblem => view.ScratchProblem is { } problem ? new CdiScratchFinding(problem) : null;

    /// <summary>CDI's conditions (Bound, Ready, Running) as "Type=Status (Reason): Message" lines.</summary>
    public CdiTextList Conditions => new(view.DataVolume.Status?.Conditions?
        .Select(c => $"{c.Type}={c.Status}{(string.IsNullOrEmpty(c.Reason) ? string.Empty : $" ({c.Reason})")}{(string.IsNullOrEmpty(c.Message) ? string.Empty : $": {c.Message}")}") ?? []);

    /// <inheritdoc />
    public override string ToString() => $"{Namespace}/{Name}";
}
