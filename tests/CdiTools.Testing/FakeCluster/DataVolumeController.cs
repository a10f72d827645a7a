using System.Globalization;
using System.Text.Json.Nodes;
using static CdiTools.Testing.FakeCluster.JsonStrings;
using static CdiTools.Testing.FakeCluster.ObjectMeta;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// CDI v1.66's DataVolume controllers as a client sees them (pkg/controller/datavolume): the target
/// PVC, then phases, progress, restarts, the Bound/Ready/Running conditions and events, one step
/// at a time. It plays the populator flow CDI uses for CSI storage (a class whose provisioner is
/// not an in-tree <c>kubernetes.io/</c> one) and the older flow otherwise. Imports and uploads get
/// CDI's workers (see the Workers part): the pod, its scratch PVC and on the populator path the
/// PVC', all created through the API server's admission, so quotas and LimitRanges refuse them as
/// they refuse CDI. Claims bind through the PV controller (<see cref="PersistentVolumeBinder"/>),
/// and the import waits while a claim of its pod is Pending. The importer's own events
/// (ErrImportFailed, ImportSucceeded) stay on the target rather than on the PVC'; clones and their
/// populators, and populator sources, are left out. DataVolumes stored with a status already
/// (seeded) are left as they are.
/// </summary>
internal sealed partial class DataVolumeController : IDisposable
{
    private const string Cdi = "cdi.kubevirt.io/";
    private const string UsePopulatorAnnotation = Cdi + "storage.usePopulator";
    private const string ImmediateBindingAnnotation = Cdi + "storage.bind.immediate.requested";
    private const string PodPhaseAnnotation = Cdi + "storage.pod.phase";
    private const string PodReadyAnnotation = Cdi + "storage.pod.ready";
    private const string PodRestartsAnnotation = Cdi + "storage.pod.restarts";
    private const string RunningAnnotation = Cdi + "storage.condition.running";
    private const string FatalErrorAnnotation = Cdi + "storage.import.fatalError";
    private const string ContentTypeAnnotation = Cdi + "storage.contentType";
    private const string CreatedForAnnotation = Cdi + "createdForDataVolume";
    private const string UploadTargetAnnotation = Cdi + "storage.upload.target";
    private const string SelectedNodeAnnotation = "volume.kubernetes.io/selected-node";
    private const string PodRunningReason = "Pod is running";
    private const long MiB = 1 << 20;

    /// <summary>What the importer's metrics report while it runs, one value a step (CDI formats them "%.2f%%").</summary>
    private static readonly string[] ProgressSteps = ["20.00%", "45.00%", "70.00%", "95.00%"];

    private static readonly string[] OutOfSpaceErrors = ["is larger than the reported available", "no space left on device", "file largest block is bigger than maxblock", "disk quota exceeded"];

    private static readonly string[] ImportSourceKinds = ["http", "s3", "gcs", "registry", "imageio", "vddk"];

    private readonly FakeApiServer server;
    private readonly bool enabled;
    private readonly Dictionary<string, Tracked> tracked = new(StringComparer.Ordinal);
    private readonly object scriptGate = new();
    private readonly Dictionary<(string Namespace, string Name), FakeImportFailure> failures = [];
    private readonly HashSet<(string Namespace, string Name)> finishedUploads = [];
    private readonly SemaphoreSlim wake = new(0, 1);
    private readonly CancellationTokenSource stopping = new();
    private bool running = true;

    public DataVolumeController(FakeApiServer server, FakeControllers enabled, TimeSpan stepDelay)
    {
        this.server = server;
        this.enabled = enabled.HasFlag(FakeControllers.DataVolume);
        StepDelay = stepDelay;
        if (this.enabled)
        {
            _ = Task.Run(RunAsync);
        }
    }

    /// <summary>How a DataVolume's work is done, from its source.</summary>
    private enum Work
    {
        Import,
        Blank,
        Upload,
        ClonePvc,
        CloneSnapshot,
    }

    /// <summary>Where a DataVolume stands; each step moves it on by one write.</summary>
    private enum Stage
    {
        New,
        AwaitingSource,
        CreateClaim,
        WaitingForConsumer,
        BindClaim,
        Schedule,
        Start,
        Progress,
        Failing,
        Recover,
        UploadReady,
        Complete,
        Resting,
    }

    public TimeSpan StepDelay { get; set; }

    public bool Running
    {
        get => Volatile.Read(ref running);
        set
        {
            Volatile.Write(ref running, value);
            Notify();
        }
    }

    public void Notify()
    {
        if (!enabled)
        {
            return;
        }

        try
        {
            wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken; one pass sees every change.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Runs the steps that are due now, on the caller's thread.</summary>
    public void ReconcileNow()
    {
        if (enabled && Running && !stopping.IsCancellationRequested)
        {
            Pass();
        }
    }

    public void FailImport(string ns, string name, FakeImportFailure failure)
    {
        lock (scriptGate)
        {
            failures[(ns, name)] = failure;
        }

        Notify();
    }

    public void ClearImportFailure(string ns, string name)
    {
        lock (scriptGate)
        {
            failures.Remove((ns, name));
        }

        Notify();
    }

    public void CompleteUpload(string ns, string name)
    {
        lock (scriptGate)
        {
            finishedUploads.Add((ns, name));
        }

        Notify();
    }

    public void Dispose()
    {
        stopping.Cancel();
        Notify();
    }

    private static string Now() => FakeApiServer.Now();

    private static string Uid(JsonObject obj) => Text(obj["metadata"]?["uid"]) ?? "";

    /// <summary>
    /// CDI shortens the importer's out-of-space errors in the condition (pkg/controller/util.go);
    /// the event on the PVC keeps the whole text.
    /// </summary>
    private static string Simplify(string message) =>
        OutOfSpaceErrors.Any(m => message.Contains(m, StringComparison.Ordinal))
            ? "DataVolume too small to contain image"
            : message;

    private async Task RunAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            var wait = Timeout.InfiniteTimeSpan;
            if (Running)
            {
                try
                {
                    wait = Pass();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A fault here would otherwise only show as a test timing out.
                    await Console.Error.WriteLineAsync($"fake DataVolume controller: {e}").ConfigureAwait(false);
                    wait = TimeSpan.FromMilliseconds(100);
                }
            }

            try
            {
                await wake.WaitAsync(wait, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Steps every DataVolume that is due; returns how long until the next one is.</summary>
    private TimeSpan Pass()
    {
        var dataVolumes = server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "datavolumes")!;
        lock (server.Store.Gate)
        {
            var now = DateTime.UtcNow;
            var next = DateTime.MaxValue;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var listed in server.Store.List(dataVolumes, null))
            {
                var dv = listed;
                var uid = Uid(dv);
                seen.Add(uid);
                if (!tracked.TryGetValue(uid, out var t))
                {
                    t = new Tracked(ObjectStore.NamespaceOf(dv), ObjectStore.NameOf(dv)) { Due = now };
                    tracked[uid] = t;
                }

                // With no delay the steps run back to back; the bound only stops a script that
                // never rests (an import failing for good) from holding the lock forever.
                for (var step = 0; step < 64 && !IsResting(t) && t.Due <= now && !IsDeleting(dv); step++)
                {
                    dv = Step(dv, t);
                    t.Due = now + Delay(t);
                    if (StepDelay > TimeSpan.Zero)
                    {
                        break;
                    }
                }

                if (!IsResting(t) && !IsDeleting(dv))
                {
                    next = next < t.Due ? next : t.Due;
                }
            }

            foreach (var gone in tracked.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                tracked.Remove(gone);
            }

            return next == DateTime.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Math.Max((next - now).Ticks, TimeSpan.TicksPerMillisecond));
        }
    }

    /// <summary>The wait after a step; retries and restarts that never end get a floor so a zero delay does not spin.</summary>
    private TimeSpan Delay(Tracked t) =>
        (t.Waiting || t.Stage is Stage.Failing or Stage.AwaitingSource) && StepDelay < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : StepDelay;

    private bool IsResting(Tracked t)
    {
        if (t.Stage == Stage.Resting)
        {
            return true;
        }

        if (t.Stage == Stage.UploadReady)
        {
            lock (scriptGate)
            {
                return !finishedUploads.Contains((t.Namespace, t.Name));
            }
        }

        return false;
    }

    private FakeImportFailure? FailureFor(Tracked t)
    {
        lock (scriptGate)
        {
            return failures.GetValueOrDefault((t.Namespace, t.Name));
        }
    }

    /// <summary>One step of one DataVolume; returns the DataVolume as stored afterwards.</summary>
    private JsonObject Step(JsonObject dv, Tracked t)
    {
        t.Waiting = false;
        switch (t.Stage)
        {
            case Stage.New:
                return Begin(dv, t);
            case Stage.AwaitingSource:
                return SourceExists(dv, t) ? CreateClaim(dv, t) : dv;
            case Stage.CreateClaim:
                return CreateClaim(dv, t);
            case Stage.WaitingForConsumer:
                t.Phase = t.Populator ? "PendingPopulation" : "WaitForFirstConsumer";
                t.Stage = Stage.Resting;
                return WriteStatus(dv, t, null);
            case Stage.BindClaim:
                return AwaitBinding(dv, t);
            case Stage.Schedule:
                return Schedule(dv, t);
            case Stage.Start:
                return Start(dv, t);
            case Stage.Progress:
                return Progress(dv, t);
            case Stage.Failing:
                return Fail(dv, t);
            case Stage.Recover:
                t.Running = ("True", PodRunningReason, "");
                SetPodStatus(t, "Running");
                SetPodAnnotations(t, "Running");
                t.Stage = Stage.Progress;
                return WriteStatus(dv, t, null);
            case Stage.UploadReady:
                lock (scriptGate)
                {
                    finishedUploads.Remove((t.Namespace, t.Name));
                }

                return Complete(dv, t);
            case Stage.Complete:
                return Complete(dv, t);
            default:
                return dv;
        }
    }

    private JsonObject Begin(JsonObject dv, Tracked t)
    {
        // Objects seeded with a status, and sources this fake does not play (sourceRef, external
        // population), are left alone.
        var spec = dv["spec"] as JsonObject ?? [];
        var source = spec["source"] as JsonObject;
        Work? work = source switch
        {
            null => null,
            _ when source["blank"] is JsonObject => Work.Blank,
            _ when source["upload"] is JsonObject => Work.Upload,
            _ when source["pvc"] is JsonObject => Work.ClonePvc,
            _ when source["snapshot"] is JsonObject => Work.CloneSnapshot,
            _ when ImportSourceKinds.Any(k => source[k] is JsonObject) => Work.Import,
            _ => null,
        };
        if (dv["status"] is JsonObject { Count: > 0 } || work is null)
        {
            t.Stage = Stage.Resting;
            return dv;
        }

        t.Work = work.Value;
        t.NeedsScratch = NeedsScratch(t.Work, source, Text(spec["contentType"]));
        t.Component = t.Work switch
        {
            Work.Upload => "datavolume-upload-controller",
            Work.ClonePvc => "datavolume-pvc-clone-controller",
            Work.CloneSnapshot => "datavolume-snapshot-clone-controller",
            _ => "datavolume-import-controller",
        };
        if (t.Work is Work.ClonePvc or Work.CloneSnapshot)
        {
            var kind = t.Work == Work.ClonePvc ? "pvc" : "snapshot";
            t.SourceType = kind;
            t.SourceNamespace = Text(source![kind]!["namespace"]) ?? t.Namespace;
            t.SourceName = Text(source[kind]!["name"]) ?? "";
        }

        if (!SourceExists(dv, t))
        {
            // CDI records the missing source on the conditions and leaves the phase unset
            // (pvc-clone-controller.go / snapshot-clone-controller.go, CloneWithoutSource).
            t.Stage = Stage.AwaitingSource;
            t.ClaimProblem = ("CloneWithoutSource", $"The source {t.SourceType} {t.SourceName} doesn't exist");
            return WriteStatus(dv, t, null);
        }

        return CreateClaim(dv, t);
    }

    private bool SourceExists(JsonObject dv, Tracked t)
    {
        if (t.Work is not (Work.ClonePvc or Work.CloneSnapshot))
        {
            return true;
        }

        var resource = t.Work == Work.ClonePvc
            ? server.Catalog.Find("", "v1", "persistentvolumeclaims")!
            : server.Catalog.Find("snapshot.storage.k8s.io", "v1", "volumesnapshots")!;
        return server.Store.Get(resource, t.SourceNamespace, t.SourceName) is not null;
    }

    /// <summary>
    /// Renders the target PVC as CDI does (pkg/controller/datavolume/util.go renderPvcSpec) and
    /// creates it, or records why it cannot be rendered.
    /// </summary>
    private JsonObject CreateClaim(JsonObject dv, Tracked t)
    {
        t.ClaimProblem = null;
        var spec = (JsonObject)dv["spec"]!;
        var fromStorage = spec["storage"] is JsonObject;
        var requested = (spec["storage"] ?? spec["pvc"]) as JsonObject ?? [];
        var claim = new JsonObject();
        var contentType = Text(spec["contentType"]) is { Length: > 0 } ct ? ct : "kubevirt";
        var volumeMode = Text(requested["volumeMode"]);
        var accessModes = requested["accessModes"] is JsonArray { Count: > 0 } modes ? modes.DeepClone().AsArray() : null;

        // CDI renders (and so checks) only the storage API; spec.pvc is copied as given.
        if (fromStorage && contentType == "archive")
        {
            if (volumeMode == "Block")
            {
                return Invalid(dv, t, "ContentType Archive cannot have block volumeMode", "ContentType Archive cannot have block volumeMode");
            }

            volumeMode = "Filesystem";
        }

        var className = Text(requested["storageClassName"]);
        var storageClass = className is not null ? server.StorageClass(className) : null;
        if (className is null)
        {
            // The storage API takes the default virtualization class first; spec.pvc gets the
            // cluster default from the API server's DefaultStorageClass admission.
            storageClass = (fromStorage ? DefaultClass("storageclass.kubevirt.io/is-default-virt-class") : null)
                ?? DefaultClass("storageclass.kubernetes.io/is-default-class");
            className = storageClass is null ? null : ObjectStore.NameOf(storageClass);
        }

        if (fromStorage && accessModes is null)
        {
            if (storageClass is null)
            {
                const string missing = "PVC spec is missing accessMode and no storageClass to choose profile";
                return Invalid(dv, t, missing, missing);
            }

            var profile = server.Store.Get(server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "storageprofiles")!, "", className!);
            var first = (profile?["status"]?["claimPropertySets"] as JsonArray)?.FirstOrDefault() as JsonObject;
            if (profile is not null && (first?["accessModes"] as JsonArray)?.Count is not > 0 && volumeMode is null)
            {
                return Invalid(dv, t, $"no accessMode specified in StorageProfile {className}",
                    $"Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile {className}");
            }

            // A class without a StorageProfile is taken to offer ReadWriteOnce Filesystem volumes,
            // which spares tests that do not care from describing every class.
            accessModes = (first?["accessModes"] as JsonArray)?.DeepClone().AsArray() ?? new JsonArray("ReadWriteOnce");
            volumeMode ??= Text(first?["volumeMode"]) ?? "Filesystem";
        }

        volumeMode ??= "Filesystem";
        var size = Quantities.Bytes(requested["resources"]?["requests"]?["storage"]);
        string? sizeText = null;
        if (size is { } bytes && fromStorage && volumeMode == "Filesystem")
        {
            sizeText = Inflate(bytes, className).ToString(CultureInfo.InvariantCulture);
        }
        else if (requested["resources"]?["requests"]?["storage"] is { } given)
        {
            sizeText = Text(given) ?? given.ToJsonString();
        }
        else if (t.Work == Work.ClonePvc)
        {
            sizeText = Text(server.GetObject("v1", "PersistentVolumeClaim", t.SourceName, t.SourceNamespace)?["spec"]?["resources"]?["requests"]?["storage"]);
        }
        else if (t.Work == Work.CloneSnapshot)
        {
            sizeText = Text(server.GetObject("snapshot.storage.k8s.io/v1", "VolumeSnapshot", t.SourceName, t.SourceNamespace)?["status"]?["restoreSize"]);
        }

        t.Populator = bool.TryParse(Annotation(dv, UsePopulatorAnnotation), out var asked)
            ? asked
            : storageClass is not null && !(Text(storageClass["provisioner"]) ?? "").StartsWith("kubernetes.io/", StringComparison.Ordinal);
        t.WaitForConsumer = storageClass is not null && Text(storageClass["volumeBindingMode"]) == "WaitForFirstConsumer"
            && Annotation(dv, ImmediateBindingAnnotation) is null
            && (!t.Populator || Annotation(dv, SelectedNodeAnnotation) is null);

        var annotations = (dv["metadata"]?["annotations"] as JsonObject)?.DeepClone().AsObject() ?? [];
        annotations.Remove("kubectl.kubernetes.io/last-applied-configuration");
        annotations[ContentTypeAnnotation] = contentType;
        annotations[CreatedForAnnotation] = Uid(dv);
        annotations[UsePopulatorAnnotation] = t.Populator ? "true" : "false";
        annotations[PodRestartsAnnotation] = "0";
        if (t.Work == Work.Upload)
        {
            annotations[UploadTargetAnnotation] = "";
        }

        claim["accessModes"] = accessModes ?? new JsonArray("ReadWriteOnce");
        if (sizeText is not null)
        {
            claim["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = sizeText } };
        }

        if (className is not null)
        {
            claim["storageClassName"] = className;
        }

        claim["volumeMode"] = volumeMode;
        if (t.Populator)
        {
            var (kind, prefix) = t.Work switch
            {
                Work.Upload => ("VolumeUploadSource", "volume-upload-source"),
                Work.ClonePvc or Work.CloneSnapshot => ("VolumeCloneSource", "volume-clone-source"),
                _ => ("VolumeImportSource", "volume-import-source"),
            };
            var reference = new JsonObject { ["apiGroup"] = "cdi.kubevirt.io", ["kind"] = kind, ["name"] = $"{prefix}-{Uid(dv)}" };
            claim["dataSource"] = reference.DeepClone();
            claim["dataSourceRef"] = reference;
        }

        var pvc = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject
            {
                ["name"] = t.Name,
                ["namespace"] = t.Namespace,
                ["labels"] = new JsonObject { ["app"] = "containerized-data-importer" },
                ["annotations"] = annotations,
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
                    ["kind"] = "DataVolume",
                    ["name"] = t.Name,
                    ["uid"] = Uid(dv),
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = claim,
            ["status"] = new JsonObject { ["phase"] = "Pending" },
        };

        if (server.Store.Get(Claims, t.Namespace, t.Name) is null)
        {
            try
            {
                server.CreateLocked(Claims, pvc);
            }
            catch (ApiError e)
            {
                // handlePvcCreation: a quota's refusal shows on the DataVolume, which stays
                // Pending; any refusal is tried again at the next step.
                t.Stage = Stage.CreateClaim;
                t.Waiting = true;
                if (!e.Message.Contains("exceeded quota:", StringComparison.Ordinal))
                {
                    return dv;
                }

                t.Phase = "Pending";
                return WriteStatus(dv, t, new PhaseEvent("Warning", "ErrExceededQuota", e.Message));
            }
        }

        t.ClaimExists = true;
        t.ClaimName = t.Name;
        t.Phase = "Pending";
        t.Progress = "N/A";
        t.Stage = t.WaitForConsumer ? Stage.WaitingForConsumer
            : t.Populator ? Stage.Schedule
            : Stage.BindClaim;
        var populator = t.Populator ? "true" : "false";
        return WriteStatus(dv, t, null, meta =>
        {
            var dvAnnotations = meta["annotations"] as JsonObject ?? [];
            meta["annotations"] = dvAnnotations;
            dvAnnotations[UsePopulatorAnnotation] = populator;
        });
    }

    private JsonObject Invalid(JsonObject dv, Tracked t, string condition, string eventMessage)
    {
        t.Stage = Stage.Resting;
        t.ClaimProblem = ("ErrClaimNotValid", condition);
        server.Events.Record(dv, "Warning", "ErrClaimNotValid", eventMessage, t.Component);
        return WriteStatus(dv, t, null);
    }

    /// <summary>
    /// The older flow waits for the PV controller to bind the target (its FailedBinding and
    /// provisioning events show on the Bound condition meanwhile), then reports PVCBound.
    /// </summary>
    private JsonObject AwaitBinding(JsonObject dv, Tracked t)
    {
        server.Volumes.SweepNow();
        if (!PersistentVolumeBinder.IsBound(Claim(t, t.Name)))
        {
            t.Waiting = true;
            return WriteStatus(dv, t, null);
        }

        t.ClaimBound = true;
        t.Phase = "PVCBound";
        t.Stage = Stage.Schedule;
        return WriteStatus(dv, t, null);
    }

    /// <summary>
    /// Starts the workers (the PVC' first on the populator path, which waits while the PVC' cannot
    /// be created) and reports the scheduled phase; clones have none in this fake.
    /// </summary>
    private JsonObject Schedule(JsonObject dv, Tracked t)
    {
        if (t.Work is not (Work.ClonePvc or Work.CloneSnapshot))
        {
            if (t.Populator && !EnsurePrime(t))
            {
                t.Waiting = true;
                return WriteStatus(dv, t, null);
            }

            EnsurePod(t);
            EnsureScratch(t);
            server.Volumes.SweepNow();
            CopyPrimeEvents(t);
        }

        SetPodAnnotations(t, "Pending");
        t.Stage = Stage.Start;
        (string Phase, PhaseEvent Event) scheduled = t.Work switch
        {
            Work.Upload => ("UploadScheduled", new PhaseEvent("Normal", "UploadScheduled", $"Upload into {t.Name} scheduled")),
            Work.ClonePvc or Work.CloneSnapshot => ("CloneScheduled", new PhaseEvent("Normal", "CloneScheduled", $"Cloning from {t.SourceNamespace}/{t.SourceName} into {t.Namespace}/{t.Name} scheduled")),
            _ => ("ImportScheduled", new PhaseEvent("Normal", "ImportScheduled", $"Import into {t.Name} scheduled")),
        };
        t.Phase = scheduled.Phase;
        return WriteStatus(dv, t, scheduled.Event);
    }

    /// <summary>
    /// Runs the worker pod once its claims let it, retrying a refused scratch PVC each step; until
    /// then the DataVolume stays scheduled. A blank image is done as soon as its pod runs.
    /// </summary>
    private JsonObject Start(JsonObject dv, Tracked t)
    {
        EnsureScratch(t);
        var runs = PodCanRun(t);
        CopyPrimeEvents(t);
        if (!runs)
        {
            t.Waiting = true;
            return WriteStatus(dv, t, null);
        }

        if (t.Work == Work.Blank)
        {
            return Complete(dv, t);
        }

        t.Running = ("True", PodRunningReason, "");
        SetPodStatus(t, "Running");
        SetPodAnnotations(t, "Running");
        PhaseEvent started;
        switch (t.Work)
        {
            case Work.Upload:
                t.Phase = "UploadReady";
                t.Stage = Stage.UploadReady;
                started = new PhaseEvent("Normal", "UploadReady", $"Upload into {t.Name} ready");
                break;
            case Work.CloneSnapshot:
                t.Phase = "CloneFromSnapshotSourceInProgress";
                t.Stage = Stage.Progress;
                started = new PhaseEvent("Normal", "CloneFromSnapshotSourceInProgress",
                    $"Creating PVC from snapshot source is in progress (for snapshot {t.SourceNamespace}/{t.SourceName})");
                break;
            case Work.ClonePvc:
                t.Phase = "CloneInProgress";
                t.Stage = Stage.Progress;
                started = new PhaseEvent("Normal", "CloneInProgress", $"Cloning from {t.SourceNamespace}/{t.SourceName} into {t.Namespace}/{t.Name} in progress");
                break;
            default:
                t.Phase = "ImportInProgress";
                t.Stage = FailureFor(t) is null ? Stage.Progress : Stage.Failing;
                started = new PhaseEvent("Normal", "ImportInProgress", $"Import into {t.Name} in progress");
                break;
        }

        return WriteStatus(dv, t, started);
    }

    private JsonObject Progress(JsonObject dv, Tracked t)
    {
        if (t.Work == Work.Import && FailureFor(t) is not null)
        {
            t.Stage = Stage.Failing;
            return Fail(dv, t);
        }

        t.Progress = ProgressSteps[t.ProgressIndex];
        t.ProgressIndex++;
        if (t.ProgressIndex == ProgressSteps.Length)
        {
            t.Stage = Stage.Complete;
        }

        return WriteStatus(dv, t, null);
    }

    /// <summary>
    /// One importer failure. CDI keeps the phase (the pod restarts) unless the importer reported a
    /// checksum mismatch, which it treats as permanent (pkg/controller/import-controller.go).
    /// </summary>
    private JsonObject Fail(JsonObject dv, Tracked t)
    {
        var failure = FailureFor(t);
        if (failure is null)
        {
            t.Stage = Stage.Recover;
            return Step(dv, t);
        }

        if (failure.Fatal)
        {
            t.Running = ("False", failure.Reason, Simplify(failure.Message));
            t.Phase = "Failed";
            t.Stage = Stage.Resting;
            UpdateClaims(t, pvc =>
            {
                SetAnnotation(pvc, PodPhaseAnnotation, "Failed");
                SetAnnotation(pvc, FatalErrorAnnotation, "true");
                SetRunningAnnotations(pvc, t.Running);
            });
            RecordClaimEvent(t, "Warning", "ErrImportFailed", Simplify(failure.Message));
            EndWorkers(t, "Failed");
            return WriteStatus(dv, t, new PhaseEvent("Warning", "ImportFailed", $"Failed to import into PVC {t.Name}"));
        }

        t.RestartCount++;
        t.Failures++;
        t.Running = ("False", failure.Reason, Simplify(failure.Message));
        SetPodStatus(t, "Running");
        UpdateClaims(t, pvc =>
        {
            SetAnnotation(pvc, PodRestartsAnnotation, t.RestartCount.ToString(CultureInfo.InvariantCulture));
            SetRunningAnnotations(pvc, t.Running);
        });
        RecordClaimEvent(t, "Warning", "ErrImportFailed", failure.Message);
        if (failure.Restarts is { } allowed && t.Failures >= allowed)
        {
            lock (scriptGate)
            {
                failures.Remove((t.Namespace, t.Name));
            }

            t.Stage = Stage.Recover;
        }

        return WriteStatus(dv, t, null);
    }

    private JsonObject Complete(JsonObject dv, Tracked t)
    {
        SetPodAnnotations(t, "Succeeded");
        EndWorkers(t, "Succeeded");
        if (Claim(t, t.Name) is { } target && !PersistentVolumeBinder.IsBound(target))
        {
            // Clones: their populators are left out, so the target gets its volume here.
            server.Volumes.Provision(target);
        }

        t.ClaimBound = true;
        t.Phase = "Succeeded";
        t.Stage = Stage.Resting;
        PhaseEvent done;
        switch (t.Work)
        {
            case Work.Upload:
                // Uploads report no progress of their own; the client does (design: CDI facts).
                t.Running = ("False", "Completed", "Upload Complete");
                done = new PhaseEvent("Normal", "UploadSucceeded", $"Successfully uploaded into {t.Name}");
                break;
            case Work.ClonePvc or Work.CloneSnapshot:
                t.Progress = "100.0%";
                t.Running = t.Work == Work.ClonePvc ? ("False", "Completed", "Clone Complete") : ("False", "", "");
                done = new PhaseEvent("Normal", "CloneSucceeded", $"Successfully cloned from {t.SourceNamespace}/{t.SourceName} into {t.Namespace}/{t.Name}");
                break;
            default:
                t.Progress = "100.0%";

                // A blank image's importer writes no completion message.
                t.Running = ("False", "Completed", t.Work == Work.Blank ? "" : "Import Complete");
                RecordClaimEvent(t, "Normal", "ImportSucceeded", "Import Successful");
                done = new PhaseEvent("Normal", "ImportSucceeded", $"Successfully imported into PVC {t.Name}");
                break;
        }

        UpdateClaims(t, pvc => SetRunningAnnotations(pvc, t.Running));
        return WriteStatus(dv, t, done);
    }

    private void SetPodAnnotations(Tracked t, string podPhase) =>
        UpdateClaims(t, pvc =>
        {
            SetAnnotation(pvc, PodPhaseAnnotation, podPhase);

            // The upload proxy lets uploads through only while the upload server's pod is ready
            // (upload-controller.go copies the pod's readiness): not while pending, nor once it ended.
            if (t.Work == Work.Upload)
            {
                SetAnnotation(pvc, PodReadyAnnotation, podPhase == "Running" ? "true" : "false");
            }

            if (podPhase != "Pending")
            {
                SetRunningAnnotations(pvc, t.Running);
            }
        });

    private static void SetRunningAnnotations(JsonObject pvc, (string Status, string Reason, string Message) running)
    {
        SetAnnotation(pvc, RunningAnnotation, running.Status.ToLowerInvariant());
        SetAnnotation(pvc, RunningAnnotation + ".message", running.Message);
        SetAnnotation(pvc, RunningAnnotation + ".reason", running.Reason);
    }

    /// <summary>
    /// Changes the target and, while there is one, the PVC' as well: CDI's workers keep their
    /// state on the PVC' and the populator copies it to the target (desiredAnnotations).
    /// </summary>
    private void UpdateClaims(Tracked t, Action<JsonObject> change)
    {
        UpdateClaim(t, t.Name, change);
        if (t.PrimeName is { } prime)
        {
            UpdateClaim(t, prime, change);
        }
    }

    private void UpdateClaim(Tracked t, string name, Action<JsonObject> change)
    {
        var current = Claim(t, name);
        if (current is null || IsDeleting(current))
        {
            return;
        }

        var next = current.DeepClone().AsObject();
        change(next);
        server.Commit(Claims, current, next);
    }

    /// <summary>
    /// Writes the DataVolume's status from <paramref name="t"/> the way CDI's updateConditions and
    /// emitEvent do (pkg/controller/datavolume/conditions.go, controller-base.go), and records the
    /// events CDI records for the change.
    /// </summary>
    private JsonObject WriteStatus(JsonObject dv, Tracked t, PhaseEvent? phaseEvent, Action<JsonObject>? metadata = null)
    {
        var now = Now();
        var next = dv.DeepClone().AsObject();
        metadata?.Invoke((JsonObject)next["metadata"]!);
        var before = Condition.Parse(dv["status"]?["conditions"] as JsonArray);
        var conditions = Condition.Parse(dv["status"]?["conditions"] as JsonArray);

        var pending = t.ClaimExists && !t.ClaimBound ? PendingClaimCondition(t) : null;
        var (boundStatus, boundReason, boundMessage) = t.ClaimExists
            ? t.ClaimBound ? ("True", "Bound", $"PVC {t.Name} Bound") : ("False", pending?.Reason ?? "Pending", pending?.Message ?? $"PVC {t.Name} Pending")
            : ("False", t.ClaimProblem?.Reason ?? "NotFound", t.ClaimProblem?.Message ?? "No PVC found");
        var (readyReason, readyMessage) = t.ClaimExists ? ("", "") : (boundReason, boundMessage);
        Condition.Set(conditions, "Bound", boundStatus, boundMessage, boundReason, now);
        Condition.Set(conditions, "Ready", t.Phase == "Succeeded" ? "True" : "False", readyMessage, readyReason, now);
        Condition.Set(conditions, "Running", t.Running.Status, t.Running.Message, t.Running.Reason, now);
        if (t.Running.Status == "True")
        {
            Condition.Set(conditions, "Ready", "False", "", "TransferRunning", now);
        }

        var status = new JsonObject();
        if (t.ClaimName is not null)
        {
            status["claimName"] = t.ClaimName;
        }

        if (!string.IsNullOrEmpty(t.Phase))
        {
            status["phase"] = t.Phase;
        }

        if (t.Progress is not null)
        {
            status["progress"] = t.Progress;
        }

        if (t.RestartCount > 0)
        {
            status["restartCount"] = t.RestartCount;
        }

        status["conditions"] = new JsonArray(conditions.Select(c => (JsonNode?)c.ToJson()).ToArray());
        next["status"] = status;

        var dataVolumes = server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "datavolumes")!;
        var oldPhase = Text(dv["status"]?["phase"]) ?? "";
        var stored = server.Commit(dataVolumes, dv, next);
        if (ReferenceEquals(stored, dv))
        {
            return dv;
        }

        if (phaseEvent is { } e && oldPhase != (t.Phase ?? ""))
        {
            server.Events.Record(stored, e.Type, e.Reason, e.Message, t.Component);
        }

        var bound = conditions.First(c => c.Type == "Bound");
        var boundBefore = before.FirstOrDefault(c => c.Type == "Bound");
        if (boundBefore is null || boundBefore.Status != bound.Status || boundBefore.Reason != bound.Reason || boundBefore.Message != bound.Message)
        {
            server.Events.Record(stored, "Normal", bound.Reason, bound.Message, t.Component);
        }

        // A transfer that stopped short: warned once per new message (emitFailureConditionEvent).
        var ready = conditions.First(c => c.Type == "Ready");
        var runningCondition = conditions.First(c => c.Type == "Running");
        var runningBefore = before.FirstOrDefault(c => c.Type == "Running");
        var boundOrPopulating = bound.Status == "True" || (t.Populator && t.Phase is not ("Pending" or "PendingPopulation"));
        if (ready.Status == "False" && runningCondition.Status == "False" && boundOrPopulating
            && runningCondition.Message.Length > 0 && runningCondition.Message != "Scratch space required"
            && runningBefore?.Message != runningCondition.Message)
        {
            server.Events.Record(stored, "Warning", runningCondition.Reason, runningCondition.Message, t.Component);
        }

        return stored;
    }

    private void RecordClaimEvent(Tracked t, string type, string reason, string message)
    {
        if (Claim(t, t.Name) is { } pvc)
        {
            server.Events.Record(pvc, type, reason, message, "import-controller");
        }
    }

    /// <summary>The class annotated as default with <paramref name="annotation"/>, newest first as CDI and the admission plugin pick it.</summary>
    private JsonObject? DefaultClass(string annotation) =>
        server.Store.List(server.Catalog.Find("storage.k8s.io", "v1", "storageclasses")!, null)
            .Where(sc => Annotation(sc, annotation) == "true")
            .OrderByDescending(sc => Text(sc["metadata"]?["creationTimestamp"]), StringComparer.Ordinal)
            .ThenBy(ObjectStore.NameOf, StringComparer.Ordinal)
            .FirstOrDefault();

    /// <summary>
    /// A Filesystem volume's size with CDI's filesystem overhead (pkg/util/util.go GetRequiredSpace):
    /// rounded up to 1 MiB, then grown by the class's overhead from CDIConfig's status.
    /// </summary>
    private long Inflate(long bytes, string? className) =>
        (long)Math.Ceiling(RoundUp(bytes) * (1 + FilesystemOverhead(className)));

    /// <summary>An event CDI records when a step changes the phase.</summary>
    private sealed record PhaseEvent(string Type, string Reason, string Message);

    /// <summary>What the controller knows of one DataVolume between steps.</summary>
    private sealed class Tracked(string ns, string name)
    {
        public string Namespace { get; } = ns;

        public string Name { get; } = name;

        public Stage Stage { get; set; }

        public DateTime Due { get; set; }

        public Work Work { get; set; }

        public string Component { get; set; } = "datavolume-import-controller";

        public string SourceType { get; set; } = "";

        public string SourceNamespace { get; set; } = "";

        public string SourceName { get; set; } = "";

        public bool Populator { get; set; }

        public bool WaitForConsumer { get; set; }

        public bool NeedsScratch { get; set; }

        /// <summary>Set by a step that found nothing to do yet, so the next try waits a moment.</summary>
        public bool Waiting { get; set; }

        public string? PrimeName { get; set; }

        public string? PodName { get; set; }

        public string? ScratchName { get; set; }

        public bool ClaimExists { get; set; }

        public bool ClaimBound { get; set; }

        public (string Reason, string Message)? ClaimProblem { get; set; }

        public string? ClaimName { get; set; }

        public string? Phase { get; set; }

        public string? Progress { get; set; }

        public int ProgressIndex { get; set; }

        public int RestartCount { get; set; }

        public int Failures { get; set; }

        public (string Status, string Reason, string Message) Running { get; set; } = ("False", "", "");
    }

    /// <summary>One DataVolume condition, changed by CDI's rule: a new status moves both times, a new reason or message only the heartbeat.</summary>
    private sealed class Condition
    {
        public string Type { get; init; } = "";

        public string Status { get; set; } = "";

        public string? TransitionTime { get; set; }

        public string? HeartbeatTime { get; set; }

        public string Reason { get; set; } = "";

        public string Message { get; set; } = "";

        public static List<Condition> Parse(JsonArray? conditions) =>
            [.. (conditions ?? []).OfType<JsonObject>().Select(c => new Condition
            {
                Type = Text(c["type"]) ?? "",
                Status = Text(c["status"]) ?? "",
                TransitionTime = Text(c["lastTransitionTime"]),
                HeartbeatTime = Text(c["lastHeartbeatTime"]),
                Reason = Text(c["reason"]) ?? "",
                Message = Text(c["message"]) ?? "",
            })];

        public static void Set(List<Condition> conditions, string type, string status, string message, string reason, string now)
        {
            var condition = conditions.FirstOrDefault(c => c.Type == type);
            if (condition is null)
            {
                condition = new Condition { Type = type };
                conditions.Add(condition);
            }

            if (condition.Status != status)
            {
                condition.TransitionTime = now;
                condition.HeartbeatTime = now;
                condition.Message = message;
                condition.Reason = reason;
            }
            else if (condition.Message != message || condition.Reason != reason)
            {
                condition.Message = message;
                condition.Reason = reason;
                condition.HeartbeatTime = now;
            }

            condition.Status = status;
        }

        public JsonObject ToJson()
        {
            var json = new JsonObject { ["type"] = Type, ["status"] = Status, ["lastTransitionTime"] = TransitionTime, ["lastHeartbeatTime"] = HeartbeatTime };
            if (Reason.Length > 0)
            {
                json["reason"] = Reason;
            }

            if (Message.Length > 0)
            {
                json["message"] = Message;
            }

            return json;
        }
    }
}
