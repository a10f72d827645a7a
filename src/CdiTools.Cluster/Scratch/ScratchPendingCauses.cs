using System.Text.RegularExpressions;
using k8s.Models;

namespace CdiTools.Cluster.Scratch;

/// <summary>
/// Why a scratch PVC stays Pending, read from what the cluster recorded: the PV controller's and
/// the external provisioner's events on the claim (pkg/controller/volume/persistentvolume
/// pv_controller.go), and the scheduler's verdict on the pod that would use it.
/// </summary>
public static partial class ScratchPendingCauses
{
    private const string RecreateDataVolume = "A claim's class cannot change: once that is fixed, delete the DataVolume and create it again (Remove-CdiDataVolume, New-CdiDataVolume).";

    /// <summary>
    /// The cause for <paramref name="scratch"/>, or null when it is not Pending.
    /// <paramref name="events"/> are those recorded about it (any order), <paramref name="pod"/> the
    /// pod that owns it when readable, <paramref name="classes"/> the cluster's StorageClasses and
    /// <paramref name="volumes"/> its PersistentVolumes (null when they cannot be read).
    /// </summary>
    public static ScratchFinding? Explain(
        V1PersistentVolumeClaim scratch,
        IEnumerable<Corev1Event> events,
        V1Pod? pod,
        IReadOnlyCollection<V1StorageClass> classes,
        IReadOnlyCollection<V1PersistentVolume>? volumes)
    {
        if (scratch.Status?.Phase is not (null or "Pending") || scratch.Metadata.DeletionTimestamp is not null)
        {
            return null;
        }

        var name = $"{scratch.Metadata.NamespaceProperty}/{scratch.Metadata.Name}";
        var className = string.IsNullOrEmpty(scratch.Spec?.StorageClassName) ? null : scratch.Spec.StorageClassName;
        var size = scratch.Spec?.Resources?.Requests is { } requests && requests.TryGetValue("storage", out var storage) ? storage.ToInt64() : 0;
        var recorded = events
            .Where(e => e.InvolvedObject?.Kind is null or "PersistentVolumeClaim")
            .OrderByDescending(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp)
            .ToList();

        // Whether an Available volume could take it; volumes that cannot be read count as none.
        ScratchFinding VolumeFinding(string? pending = null)
        {
            var finding = ScratchSpacePreflight.PersistentVolumeFinding(volumes ?? [], className, size, blockTarget: false);
            pending ??= finding.Severity == ScratchFindingSeverity.Error ? $"The scratch PVC {name} waits for a volume." : $"The scratch PVC {name} is Pending.";
            return finding with { Message = $"{pending} {finding.Message}" };
        }

        // The scheduler speaks for both claims at once: it is the more specific voice.
        var unscheduled = pod?.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable");
        if (unscheduled?.Message is { Length: > 0 } verdict)
        {
            if (verdict.Contains("volume node affinity conflict", StringComparison.OrdinalIgnoreCase))
            {
                return new(
                    "ScratchWaitForFirstConsumer",
                    ScratchFindingSeverity.Error,
                    $"The scratch PVC {name} and the PVC it serves are bound to volumes on different nodes, so pod {pod!.Metadata.Name} that needs both cannot be scheduled: {verdict}",
                    $"Give scratch space the DataVolume's own node-local class or a class that is not node-local (Set-CdiScratchStorageClass). {RecreateDataVolume}");
            }

            if (verdict.Contains("didn't find available persistent volumes to bind", StringComparison.OrdinalIgnoreCase))
            {
                return VolumeFinding($"Pod {pod!.Metadata.Name} cannot be scheduled: {verdict}");
            }
        }

        // Claims without a class, or of a class whose volumes are made by hand, bind only to a volume that exists.
        var manual = className is null || classes.FirstOrDefault(c => c.Metadata.Name == className)?.Provisioner == "kubernetes.io/no-provisioner";
        var failed = recorded.FirstOrDefault(e => e.Reason == "ProvisioningFailed");
        if (manual && (failed is not null || recorded.Any(e => e.Reason == "FailedBinding") || recorded.Count == 0))
        {
            return VolumeFinding();
        }

        // The PV controller names a missing class; without its event, the class list tells.
        var missing = failed is not null && MissingClass().Match(failed.Message ?? string.Empty) is { Success: true } named ? named.Groups[1].Value
            : className is not null && classes.Count > 0 && classes.All(c => c.Metadata.Name != className) ? className
            : null;
        if (missing is not null)
        {
            return new(
                "ScratchStorageClassMissing",
                ScratchFindingSeverity.Error,
                $"The scratch PVC {name} asks for StorageClass '{missing}', which does not exist.",
                $"Create StorageClass '{missing}', or run Set-CdiScratchStorageClass with a class that exists. {RecreateDataVolume}");
        }

        if (failed is not null)
        {
            return new(
                "ScratchProvisioningFailed",
                ScratchFindingSeverity.Error,
                $"The provisioner of class '{className}' fails to make the scratch PVC {name}{Repeats(failed)}: {failed.Message}",
                $"Fix what the provisioner reports (kubectl get events -n {scratch.Metadata.NamespaceProperty} --field-selector involvedObject.name={scratch.Metadata.Name}), and it retries by itself; or point scratch space at another class (Set-CdiScratchStorageClass). {RecreateDataVolume}");
        }

        if (recorded.FirstOrDefault(e => e.Reason == "WaitForFirstConsumer") is not null
            || classes.FirstOrDefault(c => c.Metadata.Name == className)?.VolumeBindingMode == "WaitForFirstConsumer")
        {
            return new(
                "ScratchWaitForFirstConsumer",
                ScratchFindingSeverity.Info,
                $"The scratch PVC {name} has class '{className}', which binds when a pod uses it: it binds once {(pod is null ? "CDI's importer pod" : $"pod {pod.Metadata.Name}")} is scheduled.",
                "Nothing to do while the pod is being scheduled; kubectl describe pod shows the scheduler's view if it stays Pending.");
        }

        var waiting = recorded.FirstOrDefault(e => e.Reason is "ExternalProvisioning" or "Provisioning");
        return new(
            "ScratchPending",
            ScratchFindingSeverity.Info,
            waiting is null
                ? $"The scratch PVC {name} is Pending; nothing has been recorded about it yet."
                : $"The scratch PVC {name} is Pending: {waiting.Message}",
            className is null ? "Nothing to do yet." : $"If it stays Pending, check that the provisioner of class '{className}' runs.");
    }

    private static string Repeats(Corev1Event recorded) => recorded.Count is > 1 and var count ? $" ({count} times)" : string.Empty;

    [GeneratedRegex("storageclass\\.storage\\.k8s\\.io \"([^\"]+)\" not found")]
    private static partial Regex MissingClass();
}
