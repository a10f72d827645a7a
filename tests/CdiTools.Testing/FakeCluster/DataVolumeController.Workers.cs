using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using static CdiTools.Testing.FakeCluster.JsonStrings;
using static CdiTools.Testing.FakeCluster.ObjectMeta;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// The workers behind an import or upload, as CDI v1.66 makes them: the importer or upload pod,
/// the scratch PVC it mounts (pkg/controller/import-controller.go createScratchPvcForPod,
/// upload-controller.go getOrCreateScratchPvc, util.go createScratchPersistentVolumeClaim), and
/// on the populator path the PVC' the pod works on (populators/populator-base.go createPVCPrime),
/// whose volume goes to the target once population is done. The scheduler's verdict on the pod
/// comes from the PV controller's view of its claims.
/// </summary>
internal sealed partial class DataVolumeController
{
    private const string PvcPrimeAnnotation = Cdi + "storage.populator.pvcPrime";
    private const string PodSchedulableAnnotation = Cdi + "storage.pod.schedulable";
    private const string ScratchVolume = "cdi-scratch-vol";
    private const string ImportPopulator = "import-populator";
    private const string UploadPopulator = "upload-populator";

    private ApiResource Claims => server.Catalog.Find("", "v1", "persistentvolumeclaims")!;

    private ApiResource Pods => server.Catalog.Find("", "v1", "pods")!;

    /// <summary>
    /// Whether the worker mounts a scratch PVC, by the installed release's rules (the support
    /// matrix's releases). Every upload pod gets one; registry imports CDI pulls itself and archive
    /// imports ask for one up front (requiresScratchSpace); s3 and gcs importers always convert
    /// through scratch space. http imports: since v1.60.0 (and v1.57.1, v1.58.4, v1.59.1 on their
    /// branches, PR 3219) always; since v1.57.0 (PR 2832) when the image needs converting, which the
    /// fake reads from the URL's extension; before, only gz or xz images and a custom CA, since
    /// nbdkit streams the rest. Blank, imageio and vddk imports and clones go without.
    /// </summary>
    private bool NeedsScratch(Work work, JsonObject? source, string? contentType) => work switch
    {
        Work.Upload => true,
        Work.Import when contentType == "archive" => true,
        Work.Import when source?["http"] is JsonObject http => HttpNeedsScratch(http, InstalledRelease()),
        Work.Import => source?["s3"] is JsonObject || source?["gcs"] is JsonObject
            || (source?["registry"] is JsonObject registry && Text(registry["pullMethod"]) != "node"),
        _ => false,
    };

    private static bool HttpNeedsScratch(JsonObject http, Version? release)
    {
        // An unreadable version is taken as the newest.
        if (release is null || release >= new Version(1, 60, 0)
            || (release.Major, release.Minor, release.Build) is (1, 57, >= 1) or (1, 58, >= 4) or (1, 59, >= 1))
        {
            return true;
        }

        var path = (Text(http["url"]) ?? "").Split('?')[0].ToLowerInvariant();
        var archived = path.EndsWith(".gz", StringComparison.Ordinal) || path.EndsWith(".xz", StringComparison.Ordinal);
        var disk = archived ? path[..path.LastIndexOf('.')] : path;
        var needsConversion = !(disk.EndsWith(".img", StringComparison.Ordinal) || disk.EndsWith(".raw", StringComparison.Ordinal) || disk.EndsWith(".iso", StringComparison.Ordinal));
        return archived || !string.IsNullOrEmpty(Text(http["certConfigMap"])) || (release >= new Version(1, 57, 0) && needsConversion);
    }

    /// <summary>The CDI release the CDI resource reports (status.observedVersion), as major.minor.patch.</summary>
    private Version? InstalledRelease()
    {
        var cdi = server.Store.List(server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "cdis")!, null).FirstOrDefault();
        var text = Text(cdi?["status"]?["observedVersion"])?.TrimStart('v').Split('-')[0];
        return Version.TryParse(text, out var version) ? version : null;
    }

    private static long RoundUp(double bytes) => (long)Math.Ceiling(bytes / MiB) * MiB;

    private static string WorkerComponent(Tracked t) => t.Work == Work.Upload ? "upload-controller" : "import-controller";

    private static string PopulatorComponent(Tracked t) => t.Work == Work.Upload ? UploadPopulator : ImportPopulator;

    private static JsonObject ControllerReference(JsonObject owner) => new()
    {
        ["apiVersion"] = Text(owner["apiVersion"]),
        ["kind"] = Text(owner["kind"]),
        ["name"] = ObjectStore.NameOf(owner),
        ["uid"] = Uid(owner),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };

    /// <summary>The labels CDI's controller puts on the PVCs it makes (SetRecommendedLabels, LabelExcludeFromVeleroBackup).</summary>
    private static JsonObject WorkerClaimLabels() => new()
    {
        ["app"] = "containerized-data-importer",
        ["app.kubernetes.io/component"] = "storage",
        ["app.kubernetes.io/managed-by"] = "cdi-controller",
        ["velero.io/exclude-from-backup"] = "true",
    };

    private JsonObject? Claim(Tracked t, string? name) => name is null ? null : server.Store.Get(Claims, t.Namespace, name);

    /// <summary>The claim the worker pod fills: the PVC' on the populator path, else the target.</summary>
    private static string WorkClaimName(Tracked t) => t.PrimeName ?? t.Name;

    /// <summary>
    /// Makes sure the PVC' exists (createPVCPrime): the target's spec without its data source,
    /// owned by the target, which is annotated with its name. A refused create is recorded on the
    /// target as the populator records it, and tried again at the next step.
    /// </summary>
    private bool EnsurePrime(Tracked t)
    {
        var target = Claim(t, t.Name);
        if (target is null)
        {
            return false;
        }

        var name = "prime-" + Uid(target);
        if (Claim(t, name) is null)
        {
            var targetSpec = target["spec"] as JsonObject ?? [];
            var spec = new JsonObject();
            foreach (var field in new[] { "accessModes", "resources", "storageClassName", "volumeMode" })
            {
                if (targetSpec[field] is { } value)
                {
                    spec[field] = value.DeepClone();
                }
            }

            var annotations = new JsonObject
            {
                [ImmediateBindingAnnotation] = "",
                [Cdi + "storage.populator.kind"] = t.Work == Work.Upload ? "VolumeUploadSource" : "VolumeImportSource",
                [ContentTypeAnnotation] = Annotation(target, ContentTypeAnnotation) ?? "kubevirt",
                [Cdi + "storage.preallocation.requested"] = "false",
            };
            if (t.Work == Work.Upload)
            {
                annotations[UploadTargetAnnotation] = "";
            }

            var prime = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PersistentVolumeClaim",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = t.Namespace,
                    ["labels"] = WorkerClaimLabels(),
                    ["annotations"] = annotations,
                    ["ownerReferences"] = new JsonArray(ControllerReference(target)),
                },
                ["spec"] = spec,
            };
            try
            {
                server.CreateLocked(Claims, prime);
            }
            catch (ApiError e)
            {
                server.Events.Record(target, "Warning", "ErrCreatingPVCPrime", e.Message, PopulatorComponent(t));
                return false;
            }

            server.Events.Record(target, "Normal", "CreatedPVCPrimeSuccessfully", "PVC Prime created successfully", PopulatorComponent(t));
        }

        t.PrimeName = name;
        UpdateClaim(t, t.Name, pvc => SetAnnotation(pvc, PvcPrimeAnnotation, name));
        return true;
    }

    /// <summary>
    /// Makes sure the worker pod exists (importer-&lt;claim&gt; or cdi-upload-&lt;claim&gt;), owned by
    /// its claim and mounting the scratch PVC when it needs one.
    /// </summary>
    private void EnsurePod(Tracked t)
    {
        var claimName = WorkClaimName(t);
        var claim = Claim(t, claimName);
        var upload = t.Work == Work.Upload;
        t.PodName = (upload ? "cdi-upload-" : "importer-") + claimName;
        t.ScratchName = t.NeedsScratch ? claimName + "-scratch" : null;
        if (claim is null || server.Store.Get(Pods, t.Namespace, t.PodName) is not null)
        {
            return;
        }

        var volumes = new JsonArray(new JsonObject { ["name"] = "cdi-data-vol", ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = claimName } });
        if (t.ScratchName is not null)
        {
            volumes.Add(new JsonObject { ["name"] = ScratchVolume, ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = t.ScratchName } });
        }

        var container = upload ? "cdi-upload-server" : "importer";
        server.CreateLocked(Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = t.PodName,
                ["namespace"] = t.Namespace,
                ["labels"] = new JsonObject { ["app"] = "containerized-data-importer", ["cdi.kubevirt.io"] = upload ? "cdi-upload-server" : "importer" },
                ["annotations"] = new JsonObject { [Cdi + "storage.createdByController"] = "yes" },
                ["ownerReferences"] = new JsonArray(ControllerReference(claim)),
            },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = container,
                    ["image"] = upload ? "quay.io/kubevirt/cdi-uploadserver:v1.66.0" : "quay.io/kubevirt/cdi-importer:v1.66.0",
                }),
                ["volumes"] = volumes,
                ["restartPolicy"] = "OnFailure",
            },
            ["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = "BestEffort" },
        });
    }

    /// <summary>
    /// Makes sure the scratch PVC exists, as createScratchPersistentVolumeClaim makes it. A quota's
    /// refusal is recorded on the claim as ErrExceededQuota with the API's message; a LimitRange's
    /// goes unrecorded, as in CDI. Either way the next step tries again.
    /// </summary>
    private void EnsureScratch(Tracked t)
    {
        var claim = Claim(t, WorkClaimName(t));
        var pod = t.PodName is null ? null : server.Store.Get(Pods, t.Namespace, t.PodName);
        if (t.ScratchName is null || claim is null || pod is null || Claim(t, t.ScratchName) is not null)
        {
            return;
        }

        var scratchClass = ScratchClass(claim);
        var spec = new JsonObject
        {
            ["accessModes"] = new JsonArray("ReadWriteOnce"),
            ["resources"] = claim["spec"]?["resources"]?.DeepClone() ?? new JsonObject(),
        };
        var requests = spec["resources"]!["requests"] as JsonObject ?? [];
        spec["resources"]!["requests"] = requests;
        requests["storage"] = Quantities.Format(ScratchBytes(claim, scratchClass), ResourceQuantity.SuffixFormat.DecimalSI);
        if (scratchClass is not null)
        {
            spec["storageClassName"] = scratchClass;
        }

        // KubeVirt's own annotations go along, never CDI's, which would start another import.
        var annotations = new JsonObject();
        foreach (var (key, value) in claim["metadata"]?["annotations"] as JsonObject ?? [])
        {
            if (key.Contains("kubevirt.io", StringComparison.Ordinal) && !key.Contains("cdi.kubevirt.io", StringComparison.Ordinal))
            {
                annotations[key] = value?.DeepClone();
            }
        }

        var scratch = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject
            {
                ["name"] = t.ScratchName,
                ["namespace"] = t.Namespace,
                ["labels"] = WorkerClaimLabels(),
                ["annotations"] = annotations,
                ["ownerReferences"] = new JsonArray(ControllerReference(pod)),
            },
            ["spec"] = spec,
        };
        try
        {
            server.CreateLocked(Claims, scratch);
        }
        catch (ApiError e) when (e.Message.Contains("exceeded quota:", StringComparison.Ordinal))
        {
            server.Events.Record(claim, "Warning", "ErrExceededQuota", e.Message, WorkerComponent(t));
        }
        catch (ApiError)
        {
            // Logged by CDI's reconciler only; the pod shows the missing claim.
        }
    }

    /// <summary>
    /// GetScratchPvcStorageClass: CDIConfig's status.scratchSpaceStorageClass, else the claim's
    /// class, else none (and the API server's default-class admission decides).
    /// </summary>
    private string? ScratchClass(JsonObject claim)
    {
        var config = CdiConfig();
        if (config is null)
        {
            return null;
        }

        return Text(config["status"]?["scratchSpaceStorageClass"]) is { Length: > 0 } configured ? configured
            : Text(claim["spec"]?["storageClassName"]) is { Length: > 0 } own ? own
            : null;
    }

    /// <summary>
    /// The scratch PVC's request (createScratchPersistentVolumeClaim, pkg/util/util.go): the space
    /// the claim leaves for the image, its request less the claim's filesystem overhead rounded
    /// down to 1 MiB (GetUsableSpace), grown by the scratch class's overhead after rounding up to
    /// 1 MiB (GetRequiredSpace), then rounded up to 1 MiB (RoundUp). A Block claim has no
    /// overhead; the scratch PVC is always Filesystem. Go's float64 arithmetic, as CDI's.
    /// </summary>
    private long ScratchBytes(JsonObject claim, string? scratchClass)
    {
        var spec = claim["spec"] as JsonObject ?? [];
        var request = (double)(Quantities.Bytes(spec["resources"]?["requests"]?["storage"]) ?? 0);

        // GetFilesystemOverhead reads the claim's class as Go's pointer: absent (nil) is not "".
        var claimClass = spec.ContainsKey("storageClassName") ? Text(spec["storageClassName"]) ?? "" : null;
        var claimOverhead = Text(spec["volumeMode"]) == "Block" ? 0 : FilesystemOverhead(claimClass);
        var usable = (long)Math.Ceiling(request / (1 + claimOverhead)) / MiB * MiB;
        return RoundUp(Inflate(usable, scratchClass));
    }

    /// <summary>The cluster's CDIConfig, which CDI creates; null until it has.</summary>
    private JsonObject? CdiConfig() =>
        server.Store.Get(server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "cdiconfigs")!, "", "config");

    /// <summary>
    /// CDIConfig's filesystem overhead for a class (GetFilesystemOverheadForStorageClass): none for
    /// an empty class name or without a CDIConfig; the cluster's default class stands in for no
    /// class or one that does not exist; the class's own figure, else the global one.
    /// </summary>
    private double FilesystemOverhead(string? className)
    {
        var config = CdiConfig();
        if (className == "" || config is null)
        {
            return 0;
        }

        var storageClass = (className is null ? null : server.StorageClass(className)) ?? DefaultClass("storageclass.kubernetes.io/is-default-class");
        var overheads = config["status"]?["filesystemOverhead"];
        var text = (storageClass is null ? null : Text(overheads?["storageClass"]?[ObjectStore.NameOf(storageClass)])) ?? Text(overheads?["global"]);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var overhead) ? overhead : 0;
    }

    /// <summary>
    /// Whether the pod can run, after the PV controller has had its look at the claims. If not, the
    /// pod stays Pending with the scheduler's PodScheduled condition and FailedScheduling event,
    /// and the import shows CDI's Unschedulable Running condition (AnnPodSchedulable).
    /// </summary>
    private bool PodCanRun(Tracked t)
    {
        if (t.PodName is null || server.Store.Get(Pods, t.Namespace, t.PodName) is not { } pod)
        {
            return true;
        }

        server.Volumes.SweepNow();
        var problem = server.Volumes.SchedulingProblem(pod);
        if (problem is null)
        {
            if (t.Work != Work.Upload)
            {
                UpdateClaims(t, pvc => SetAnnotation(pvc, PodSchedulableAnnotation, "true"));
            }

            return true;
        }

        SetPodStatus(t, "Pending", problem);
        server.Events.Record(server.Store.Get(Pods, t.Namespace, t.PodName)!, "Warning", "FailedScheduling", problem, "default-scheduler");
        if (t.Work != Work.Upload)
        {
            UpdateClaims(t, pvc => SetAnnotation(pvc, PodSchedulableAnnotation, "false"));
            t.Running = ("False", "Unschedulable", "Importer pod cannot be scheduled");
        }

        return false;
    }

    /// <summary>
    /// The pod's status for a phase: Pending (with the scheduler's reason when it cannot be
    /// placed), Running, or ended. Times already set are kept, so a repeat writes nothing.
    /// </summary>
    private void SetPodStatus(Tracked t, string phase, string? unschedulable = null)
    {
        if (t.PodName is null || server.Store.Get(Pods, t.Namespace, t.PodName) is not { } current)
        {
            return;
        }

        var now = Now();
        var before = current["status"] as JsonObject ?? [];
        var transition = (before["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Text(c["type"]) == "PodScheduled") is { } scheduled
            && Text(scheduled["status"]) == (unschedulable is null ? "True" : "False")
            ? Text(scheduled["lastTransitionTime"]) ?? now
            : now;
        JsonObject Condition(string type, string status) => new() { ["type"] = type, ["status"] = status, ["lastProbeTime"] = null, ["lastTransitionTime"] = transition };
        var status = new JsonObject { ["phase"] = phase };
        if (phase == "Pending")
        {
            if (unschedulable is not null)
            {
                var condition = Condition("PodScheduled", "False");
                condition["reason"] = "Unschedulable";
                condition["message"] = unschedulable;
                status["conditions"] = new JsonArray(condition);
            }
        }
        else
        {
            var running = phase == "Running";
            status["conditions"] = new JsonArray(
                Condition("PodScheduled", "True"),
                Condition("Initialized", "True"),
                Condition("ContainersReady", running ? "True" : "False"),
                Condition("Ready", running ? "True" : "False"));
            var startedAt = Text(before["containerStatuses"]?[0]?["state"]?["running"]?["startedAt"]) ?? now;
            var state = running
                ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = startedAt } }
                : new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = phase == "Succeeded" ? 0 : 1,
                        ["reason"] = phase == "Succeeded" ? "Completed" : "Error",
                        ["startedAt"] = startedAt,
                        ["finishedAt"] = now,
                    },
                };
            var container = current["spec"]?["containers"]?[0];
            status["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = Text(container?["name"]),
                ["image"] = Text(container?["image"]),
                ["ready"] = running,
                ["started"] = running,
                ["restartCount"] = t.RestartCount,
                ["state"] = state,
            });
        }

        status["qosClass"] = "BestEffort";
        var next = current.DeepClone().AsObject();
        next["status"] = status;
        server.Commit(Pods, current, next);
    }

    /// <summary>
    /// CopyEvents (pkg/controller/common/util.go) from the PVC' to the target: each event the
    /// target lacks, message prefixed "[prime-&lt;uid&gt;] : ", ClaimMisbound left out.
    /// </summary>
    private void CopyPrimeEvents(Tracked t)
    {
        if (Claim(t, t.PrimeName) is not { } prime || Claim(t, t.Name) is not { } target)
        {
            return;
        }

        var prefix = $"[{t.PrimeName}] : ";
        var present = server.Events.About(target).Select(e => Text(e["message"]) ?? "").ToHashSet(StringComparer.Ordinal);
        foreach (var e in server.Events.About(prime))
        {
            var message = Text(e["message"]) ?? "";
            if (present.Contains(message) || present.Contains(prefix + message) || Text(e["reason"]) == "ClaimMisbound")
            {
                continue;
            }

            server.Events.Record(target, Text(e["type"]) ?? "Normal", Text(e["reason"]) ?? "", prefix + message, PopulatorComponent(t));
            present.Add(prefix + message);
        }
    }

    /// <summary>
    /// CDI's Bound condition for a target that is still Pending (UpdatePVCBoundConditionFromEvents
    /// with updateBoundCondition): the newest event about it, or on the populator path, once the
    /// target names its PVC', the newest one copied from the PVC'; null when there is none to show.
    /// </summary>
    private (string Reason, string Message)? PendingClaimCondition(Tracked t)
    {
        if (Claim(t, t.Name) is not { } target || Text(target["status"]?["phase"]) != "Pending")
        {
            return null;
        }

        var prefix = Annotation(target, PvcPrimeAnnotation) is { } primeName ? $"[{primeName}] : " : null;
        if (t.Populator && prefix is null)
        {
            return null;
        }

        var newest = server.Events.About(target)
            .OrderByDescending(e => prefix is not null && (Text(e["message"]) ?? "").Contains(prefix, StringComparison.Ordinal))
            .ThenByDescending(e => Text(e["lastTimestamp"]), StringComparer.Ordinal)
            .ThenByDescending(e => (Text(e["message"]) ?? "").Length)
            .FirstOrDefault();
        var message = Text(newest?["message"]);
        if (message is null)
        {
            return null;
        }

        if (prefix is not null)
        {
            var at = message.IndexOf(prefix, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            message = message[(at + prefix.Length)..];
        }

        return ("Pending", $"target PVC {t.Name} Pending and {prefix}{message}");
    }

    /// <summary>
    /// Ends the workers once the import or upload is over: the pod reaches its last phase and goes
    /// with its scratch PVC; on success the PVC' hands its volume to the target (Rebind), and the
    /// PVC' goes too. The upload populator then drops the target's PVC' annotation
    /// (updateUploadAnnotations); the import populator keeps it. The PV controller then deals
    /// with the volumes left without a claim.
    /// </summary>
    private void EndWorkers(Tracked t, string podPhase)
    {
        SetPodStatus(t, podPhase);
        foreach (var (resource, name) in new[] { (Claims, t.ScratchName), (Pods, t.PodName) })
        {
            if (name is not null && server.Store.Get(resource, t.Namespace, name) is { } worker)
            {
                server.DeleteLocked(resource, worker, dryRun: false);
            }
        }

        if (Claim(t, t.PrimeName) is { } prime)
        {
            EndPrime(t, prime, podPhase == "Succeeded");
        }

        server.Volumes.SweepNow();
    }

    private void EndPrime(Tracked t, JsonObject prime, bool populated)
    {
        var volumes = server.Catalog.Find("", "v1", "persistentvolumes")!;
        if (populated && Claim(t, t.Name) is { } target && !PersistentVolumeBinder.IsBound(target)
            && Text(prime["spec"]?["volumeName"]) is { } volumeName && server.Store.Get(volumes, "", volumeName) is { } volume)
        {
            server.Volumes.Bind(volume, target);
        }

        server.DeleteLocked(Claims, prime, dryRun: false);
        t.PrimeName = null;
        if (t.Work == Work.Upload)
        {
            UpdateClaim(t, t.Name, pvc => (pvc["metadata"]?["annotations"] as JsonObject)?.Remove(PvcPrimeAnnotation));
        }
    }
}
