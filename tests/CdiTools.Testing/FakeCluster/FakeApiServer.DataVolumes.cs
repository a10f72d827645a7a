namespace CdiTools.Testing.FakeCluster;

/// <summary>The DataVolume side: the simulated CDI controllers' knobs and the scripts tests give them.</summary>
public sealed partial class FakeApiServer
{
    /// <summary>
    /// How long the DataVolume controller waits between steps (Pending, scheduled, each progress
    /// report, done); zero runs the steps back to back, each still its own write that watches see.
    /// </summary>
    public TimeSpan DataVolumeStepDelay
    {
        get => dataVolumes.StepDelay;
        set => dataVolumes.StepDelay = value;
    }

    /// <summary>
    /// Whether CDI's validating webhook for DataVolumes runs (it does by default, whichever
    /// controllers run); off, any DataVolume the CRD schema accepts is stored.
    /// </summary>
    public bool DataVolumeWebhook { get; set; } = true;

    /// <summary>
    /// Makes the importer of the DataVolume <paramref name="ns"/>/<paramref name="name"/> fail, now
    /// or once it exists, the way CDI reports it: the pod restarts (<c>status.restartCount</c> rises
    /// each step), the <c>Running</c> condition turns False with <paramref name="reason"/> and the
    /// message CDI derives from <paramref name="message"/>, and the phase stays ImportInProgress.
    /// After <paramref name="restarts"/> failures the import goes through; null keeps it failing.
    /// </summary>
    public void FailImport(string ns, string name, string reason, string message, int? restarts = null) =>
        FailImport(ns, name, new FakeImportFailure { Reason = reason, Message = message, Restarts = restarts });

    /// <summary>Scripts an importer failure such as <see cref="FakeImportFailure.TooSmall"/> or <see cref="FakeImportFailure.ChecksumMismatch"/>.</summary>
    public void FailImport(string ns, string name, FakeImportFailure failure) => dataVolumes.FailImport(ns, name, failure);

    /// <summary>Forgets a scripted failure; an import failing because of it recovers on its next step.</summary>
    public void ClearImportFailure(string ns, string name) => dataVolumes.ClearImportFailure(ns, name);

    /// <summary>
    /// Marks the upload into DataVolume <paramref name="ns"/>/<paramref name="name"/> finished, as
    /// the upload server does when the client's bytes are in: it goes from UploadReady (now, or once
    /// it gets there) to Succeeded.
    /// </summary>
    public void CompleteUpload(string ns, string name) => dataVolumes.CompleteUpload(ns, name);
}

/// <summary>
/// How a scripted import fails: what the importer container reports, and whether CDI treats it as
/// permanent. The factories carry CDI v1.66's own wording for the common cases.
/// </summary>
public sealed record FakeImportFailure
{
    /// <summary>The container's termination reason; Kubernetes says "Error" for a non-zero exit.</summary>
    public string Reason { get; init; } = "Error";

    /// <summary>
    /// The importer's termination message. The DataVolume's <c>Running</c> condition shows it as
    /// CDI does, shortened to "DataVolume too small to contain image" for out-of-space errors; the
    /// PVC's ErrImportFailed event shows it whole.
    /// </summary>
    public required string Message { get; init; }

    /// <summary>Failures before the importer gets through; null keeps it failing for good.</summary>
    public int? Restarts { get; init; }

    /// <summary>
    /// A failure CDI does not retry (it recognises a checksum mismatch): no restart, the phase
    /// becomes Failed and the <c>Running</c> condition carries the whole message.
    /// </summary>
    public bool Fatal { get; init; }

    /// <summary>
    /// The importer finding the image larger than the PVC (pkg/image/qemu.go checkIfURLIsValid,
    /// wrapped by the data processor's convert phase and the importer's "Unable to process data").
    /// </summary>
    public static FakeImportFailure TooSmall(long virtualSize, long availableSize, int? restarts = null) => new()
    {
        Message = $"Unable to process data: Unable to convert source data to target format: virtual image size {virtualSize} is larger than the reported available storage {availableSize}. A larger PVC is required",
        Restarts = restarts,
    };

    /// <summary>
    /// An HTTP import whose bytes do not match <c>spec.source.http.checksum</c>
    /// (pkg/importer/checksum.go and http-datasource.go); CDI marks the DataVolume Failed.
    /// </summary>
    public static FakeImportFailure ChecksumMismatch(string algorithm, string expected, string calculated) => new()
    {
        Reason = "ChecksumError",
        Message = $"Unable to process data: Unable to transfer source data to target file: checksum validation failed: checksum mismatch: expected {algorithm}:{expected}, calculated {algorithm}:{calculated}",
        Fatal = true,
    };
}
