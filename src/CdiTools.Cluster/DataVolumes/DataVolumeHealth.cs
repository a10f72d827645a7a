using System.Globalization;
using System.Text.RegularExpressions;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Sizing;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>Where a DataVolume stands for someone waiting on it.</summary>
public enum WaitOutcome
{
    /// <summary>Still on its way.</summary>
    InProgress,

    /// <summary>It reached the phase waited for.</summary>
    Reached,

    /// <summary>It failed, or keeps failing in a way CDI retries but will not get past.</summary>
    Failed,

    /// <summary>Its PVC waits for a pod to use it (WaitForFirstConsumer or PendingPopulation): nothing happens until one does.</summary>
    WaitingForConsumer,
}

/// <summary>The assessment of one DataVolume: the outcome, and for failures a stable id, CDI's message and a hint.</summary>
public sealed record DataVolumeAssessment(WaitOutcome Outcome, string? ErrorId = null, string? Message = null, string? Hint = null);

/// <summary>
/// Reads a DataVolume the way an admin watching it would: CDI marks few import failures Failed
/// (a checksum mismatch) and retries the rest by restarting the importer pod, reporting the error
/// only in the Running condition and restartCount. Errors that a retry cannot fix (a volume too
/// small for the image) fail at once; others after a number of restarts.
/// </summary>
public static partial class DataVolumeHealth
{
    public const string Succeeded = "Succeeded";

    /// <summary>
    /// Reasons CDI gives a Running condition that is not True without anything having failed: the
    /// importer finished ("Completed", the container's own reason), or it stopped to be started
    /// again with scratch space (pkg/controller/util.go ScratchSpaceRequiredReason).
    /// </summary>
    private static readonly HashSet<string> BenignReasons = new(StringComparer.Ordinal)
    {
        "", "Completed", "Scratch space required",
    };

    /// <summary>Messages of errors another attempt will not cure, as CDI words them.</summary>
    private static readonly string[] PermanentErrors =
    [
        "too small to contain image",
        "is larger than the reported available",
        "A larger PVC is required",
        "no space left on device",
        "checksum mismatch",
        "Unable to process data",
        "unsupported image format",
    ];

    /// <summary>
    /// The assessment of <paramref name="dataVolume"/>. <paramref name="lastWarning"/> is the latest
    /// warning event about it or its PVC: CDI shortens the condition's message ("DataVolume too small
    /// to contain image") but records the importer's whole message there, with the image's size.
    /// </summary>
    public static DataVolumeAssessment Assess(DataVolume dataVolume, string targetPhase, int maxRestarts, string? lastWarning = null)
    {
        var status = dataVolume.Status;
        var phase = status?.Phase ?? string.Empty;
        var running = status?.Conditions?.FirstOrDefault(c => c.Type == "Running");
        var reason = running?.Reason ?? string.Empty;
        var message = running?.Message ?? string.Empty;
        var restarts = status?.RestartCount ?? 0;

        if (string.Equals(phase, targetPhase, StringComparison.OrdinalIgnoreCase))
        {
            return new(WaitOutcome.Reached);
        }

        if (phase == "Failed")
        {
            var checksum = reason == "ChecksumError" || message.Contains("checksum mismatch", StringComparison.OrdinalIgnoreCase);
            return new(
                WaitOutcome.Failed,
                checksum ? "ChecksumMismatch" : "DataVolumeFailed",
                $"CDI marked the DataVolume Failed{Because(reason, message)}",
                checksum ? "The image's checksum is not the one given: the download is damaged, or the checksum belongs to another image." : Hint(dataVolume, message, lastWarning));
        }

        if (phase == Succeeded)
        {
            return new(WaitOutcome.Failed, "PhasePassed", $"The DataVolume succeeded without passing through {targetPhase}.");
        }

        var error = running is not null && running.Status != "True" && !BenignReasons.Contains(reason) && message.Length > 0;
        if (error && restarts > 0 && PermanentErrors.Any(p => message.Contains(p, StringComparison.OrdinalIgnoreCase)))
        {
            return new(WaitOutcome.Failed, "ImportFailing", $"The import fails and CDI keeps retrying it (restart {restarts}){Because(reason, message)}", Hint(dataVolume, message, lastWarning));
        }

        if (restarts > maxRestarts)
        {
            return new(
                WaitOutcome.Failed,
                "ImportRestarting",
                $"The importer restarted {restarts} times{(error ? Because(reason, message) : ".")}",
                error ? Hint(dataVolume, message, lastWarning) : "kubectl describe pod and the importer's log say more; CDI keeps retrying until the DataVolume is deleted.");
        }

        if (phase is "WaitForFirstConsumer" or "PendingPopulation")
        {
            return new(
                WaitOutcome.WaitingForConsumer,
                "WaitingForFirstConsumer",
                $"The DataVolume is {phase}: its storage class binds volumes only when a pod uses them, so the import starts when a VM starts.",
                "Start the VM that uses it, or create the DataVolume with -BindImmediately to import now.");
        }

        return new(WaitOutcome.InProgress);
    }

    private static string Because(string reason, string message) =>
        message.Length > 0 ? $": {message}{(reason.Length > 0 ? $" ({reason})" : string.Empty)}" : reason.Length > 0 ? $" ({reason})." : ".";

    private static string? Hint(DataVolume dataVolume, string message, string? lastWarning)
    {
        // The event's whole message carries details (the image's size) the condition's lacks.
        var detail = lastWarning is null ? message : $"{message} {lastWarning}";
        if (message.Contains("too small", StringComparison.OrdinalIgnoreCase)
            || message.Contains("larger than the reported available", StringComparison.OrdinalIgnoreCase)
            || message.Contains("no space left", StringComparison.OrdinalIgnoreCase))
        {
            var requested = dataVolume.RequestedStorage()?.RequestedSize()?.ToInt64();
            var asked = requested is { } r ? $" (it asks for {PvcSize.ExactQuantity(r)})" : string.Empty;
            if (ImageSize().Match(detail) is { Success: true } sized && long.TryParse(sized.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var virtualSize))
            {
                // The storage API's request is the disk itself: CDI adds the filesystem overhead to the claim.
                if (dataVolume.Spec?.Storage is not null)
                {
                    return $"The image's disk is {PvcSize.ExactQuantity(virtualSize)}; ask for -Size {PvcSize.ToQuantity(virtualSize)} or more{asked}, and CDI adds the filesystem overhead to a Filesystem volume itself. Delete the DataVolume and create it larger.";
                }

                var filesystem = PvcSize.ToQuantity(PvcSize.Required(virtualSize, PvcVolumeMode.Filesystem));
                return $"The image's disk is {PvcSize.ExactQuantity(virtualSize)}; with the pvc API a Filesystem volume for it needs -Size {filesystem}, a Block volume -Size {PvcSize.ToQuantity(virtualSize)}{asked}. Delete the DataVolume and create it larger.";
            }

            return $"The volume is too small for the image{asked}: Get-CdiImageInfo shows the PVC size the image needs. Delete the DataVolume and create it larger.";
        }

        if (message.Contains("checksum", StringComparison.OrdinalIgnoreCase))
        {
            return "The image's checksum is not the one given: the download is damaged, or the checksum belongs to another image.";
        }

        return null;
    }

    [GeneratedRegex("virtual image size (\\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex ImageSize();
}
