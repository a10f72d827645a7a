using System.Globalization;
using CdiTools.Cluster.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>A DataVolume as CdiTools reports it: its state, its source in a line, and whether and where its import needs scratch space.</summary>
public sealed record DataVolumeView(DataVolume DataVolume, ScratchPrediction Scratch, string? ScratchClass)
{
    public string Name => DataVolume.Metadata.Name;

    public string Namespace => DataVolume.Metadata.NamespaceProperty;

    /// <summary>CDI's phase; null until its controller first reports one.</summary>
    public string? Phase => DataVolume.Status?.Phase;

    /// <summary>"45.20%", "N/A", or null.</summary>
    public string? Progress => DataVolume.Status?.Progress;

    /// <summary>The progress as a number from 0 to 100; null when CDI gives none.</summary>
    public double? Percent =>
        Progress is { } text && text.EndsWith('%') && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    public int RestartCount => DataVolume.Status?.RestartCount ?? 0;

    /// <summary>The requested size in bytes; null when the DataVolume leaves it to CDI (clones).</summary>
    public long? Size => DataVolume.RequestedStorage()?.RequestedSize()?.ToInt64();

    public string? StorageClass => DataVolume.RequestedStorageClass();

    public DateTime? Created => DataVolume.Metadata.CreationTimestamp;

    /// <summary>Why the DataVolume waits for its scratch PVC (Pending, or refused), when it does; see <see cref="Scratch.ScratchVolumeService.ExplainWaitAsync"/>.</summary>
    public Scratch.ScratchFinding? ScratchProblem { get; init; }

    /// <summary>The source in one line: "http https://...", "registry docker://...", "upload", "clone pvc ns/name".</summary>
    public string Source => Describe(DataVolume.Spec);

    public static string Describe(DataVolumeSpec? spec) => spec switch
    {
        { SourceRef: { } reference } => $"clone {reference.Kind} {(reference.Namespace is null ? string.Empty : reference.Namespace + "/")}{reference.Name}",
        { Source: { Http: { } http } } => $"http {http.Url}",
        { Source: { Registry: { } registry } } => $"registry {registry.Url ?? "imagestream " + registry.ImageStream}",
        { Source: { S3: { } s3 } } => $"s3 {s3.Url}",
        { Source: { Gcs: { } gcs } } => $"gcs {gcs.Url}",
        { Source: { Upload: not null } } => "upload",
        { Source: { Blank: not null } } => "blank",
        { Source: { Pvc: { } pvc } } => $"clone pvc {pvc.Namespace}/{pvc.Name}",
        { Source: { Snapshot: { } snapshot } } => $"clone snapshot {snapshot.Namespace}/{snapshot.Name}",
        { Source: { ImageIo: { } imageIo } } => $"imageio {imageIo.Url} disk {imageIo.DiskId}",
        { Source: { Vddk: { } vddk } } => $"vddk {vddk.Url} {vddk.BackingFile}",
        _ => "external",
    };

    /// <summary>The view of <paramref name="dataVolume"/> on a cluster described by <paramref name="context"/> (null when CDI's settings are unknown).</summary>
    public static DataVolumeView Of(DataVolume dataVolume, Scratch.ScratchContext? context)
    {
        var scratch = ScratchPrediction.For(dataVolume, context?.Release);
        return new DataVolumeView(dataVolume, scratch, scratch.RequiresScratch == false ? null : context?.ScratchClassFor(dataVolume.RequestedStorageClass()));
    }
}
