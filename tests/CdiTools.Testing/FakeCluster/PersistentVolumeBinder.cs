using System.Text.Json.Nodes;
using static CdiTools.Testing.FakeCluster.JsonStrings;
using static CdiTools.Testing.FakeCluster.ObjectMeta;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Kubernetes' PV controller (pkg/controller/volume/persistentvolume/pv_controller.go) with the
/// provisioners behind it, and the scheduler's volume checks of a pod (the VolumeBinding plugin),
/// as clients see them on a one-node cluster. A Pending claim binds to the smallest Available
/// volume of its class (none or "" for a claim without one) with its volume mode, its access modes
/// and room for its request; failing that, a claim of an existing class is given a new volume
/// <c>pvc-&lt;claim uid&gt;</c>, unless its class has no provisioner
/// (<c>kubernetes.io/no-provisioner</c>), its provisioner is scripted to fail, or it waits for a
/// first consumer and no pod uses it yet. Whatever keeps a claim Pending is the event the
/// controller or the provisioner records on it (again, bumping its count, when the controller
/// looks once its resync period has passed); a provisioning that succeeds records nothing.
/// Volumes whose claim is gone are deleted when provisioned with the Delete policy, else Released.
/// Claims that a volume populator fills (a dataSourceRef to a kind of another API group, such as
/// CDI's VolumeImportSource) are left to the populator, which binds them itself.
/// </summary>
internal sealed class PersistentVolumeBinder(FakeApiServer server, FakeControllers enabled)
    : SweepingController(server, enabled.HasFlag(FakeControllers.PersistentVolume))
{
    public const string NoProvisioner = "kubernetes.io/no-provisioner";
    private const string Component = "persistentvolume-controller";
    private const string BetaClassAnnotation = "volume.beta.kubernetes.io/storage-class";
    private const string ProvisionedByAnnotation = "pv.kubernetes.io/provisioned-by";
    private const string BoundByControllerAnnotation = "pv.kubernetes.io/bound-by-controller";
    private const string Filesystem = "Filesystem";
    private const string Preemption = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

    /// <summary>How often the real controller syncs every claim again, repeating its events (--pvclaimbinder-sync-period).</summary>
    private static readonly TimeSpan Resync = TimeSpan.FromSeconds(15);

    private readonly Dictionary<string, string> failingProvisioners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Reason, string Message, DateTime At)> lastEvents = new(StringComparer.Ordinal);

    protected override string Name => "persistent volume controller";

    private ApiResource Claims => Server.Catalog.Find("", "v1", "persistentvolumeclaims")!;

    private ApiResource Volumes => Server.Catalog.Find("", "v1", "persistentvolumes")!;

    /// <summary>
    /// The class a claim asks for or a volume belongs to, as storagehelpers'
    /// GetPersistentVolumeClaimClass and GetPersistentVolumeClass read them alike: the beta
    /// annotation first, "" for none.
    /// </summary>
    public static string ClassOf(JsonObject claimOrVolume) =>
        Annotation(claimOrVolume, BetaClassAnnotation) ?? Text(claimOrVolume["spec"]?["storageClassName"]) ?? "";

    public static bool IsBound(JsonObject? pvc) => Text(pvc?["status"]?["phase"]) == "Bound";

    public void FailProvisioning(string provisioner, string message)
    {
        lock (Server.Store.Gate)
        {
            failingProvisioners[provisioner] = message;
        }

        Notify();
    }

    public void ClearProvisioningFailure(string provisioner)
    {
        lock (Server.Store.Gate)
        {
            failingProvisioners.Remove(provisioner);
        }

        Notify();
    }

    /// <summary>
    /// Why the scheduler leaves <paramref name="pod"/> Pending for its volumes, worded as its
    /// FailedScheduling event and PodScheduled condition are; null when its claims let it run.
    /// Callers hold the store's gate.
    /// </summary>
    public string? SchedulingProblem(JsonObject pod)
    {
        // PreFilter: every claim must exist, and those that bind at once must be bound.
        var claims = new List<JsonObject>();
        foreach (var name in ClaimNames(pod))
        {
            var claim = Server.Store.Get(Claims, ObjectStore.NamespaceOf(pod), name);
            if (claim is null || IsDeleting(claim))
            {
                var why = claim is null ? "not found" : "is being deleted";
                return $"0/1 nodes are available: persistentvolumeclaim \"{name}\" {why}. {Preemption}";
            }

            claims.Add(claim);
        }

        var unbound = claims.Where(c => !IsBound(c)).ToList();
        if (unbound.Any(c => !WaitsForConsumer(c)))
        {
            return $"0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. {Preemption}";
        }

        // Filter, then PreBind: a claim that waited for this pod needs a volume for the node.
        if (unbound.FirstOrDefault() is { } waiting)
        {
            return Provisioner(waiting) == NoProvisioner
                ? $"0/1 nodes are available: 1 node(s) didn't find available persistent volumes to bind. {Preemption}"
                : $"running PreBind plugin \"VolumeBinding\": binding volumes: provisioning failed for PVC \"{ObjectStore.NameOf(waiting)}\"";
        }

        return null;
    }

    /// <summary>
    /// Binds <paramref name="volume"/> and <paramref name="claim"/> to each other as the controller's
    /// bind() does; also how a populator hands its PVC' volume over to the target claim.
    /// Callers hold the store's gate.
    /// </summary>
    public void Bind(JsonObject volume, JsonObject claim)
    {
        var pv = volume.DeepClone().AsObject();
        var pvSpec = (JsonObject)pv["spec"]!;
        pvSpec["claimRef"] = new JsonObject
        {
            ["kind"] = "PersistentVolumeClaim",
            ["namespace"] = ObjectStore.NamespaceOf(claim),
            ["name"] = ObjectStore.NameOf(claim),
            ["uid"] = Text(claim["metadata"]?["uid"]),
            ["apiVersion"] = "v1",
            ["resourceVersion"] = Text(claim["metadata"]?["resourceVersion"]),
        };
        SetAnnotation(pv, BoundByControllerAnnotation, "yes");
        pv["status"] = new JsonObject { ["phase"] = "Bound" };
        Server.Commit(Volumes, volume, pv);

        var pvc = claim.DeepClone().AsObject();
        ((JsonObject)pvc["spec"]!)["volumeName"] = ObjectStore.NameOf(volume);
        SetAnnotation(pvc, "pv.kubernetes.io/bind-completed", "yes");
        SetAnnotation(pvc, BoundByControllerAnnotation, "yes");
        var status = new JsonObject { ["phase"] = "Bound" };
        if (pvSpec["accessModes"] is { } modes)
        {
            status["accessModes"] = modes.DeepClone();
        }

        if (pvSpec["capacity"] is { } capacity)
        {
            status["capacity"] = capacity.DeepClone();
        }

        pvc["status"] = status;
        Server.Commit(Claims, claim, pvc);
    }

    /// <summary>
    /// Gives <paramref name="claim"/> a new volume of its class and binds it, as a provisioner that
    /// succeeds does, whatever is scripted; for CDI's clones, whose populators are left out.
    /// Callers hold the store's gate.
    /// </summary>
    public void Provision(JsonObject claim)
    {
        var storageClass = ClassOf(claim);
        var provisioner = Text(Server.StorageClass(storageClass)?["provisioner"]) ?? "";
        var spec = claim["spec"] as JsonObject ?? [];
        var volume = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolume",
            ["metadata"] = new JsonObject
            {
                ["name"] = "pvc-" + Text(claim["metadata"]?["uid"]),
                ["annotations"] = new JsonObject { [ProvisionedByAnnotation] = provisioner },
            },
            ["spec"] = new JsonObject
            {
                ["capacity"] = new JsonObject { ["storage"] = spec["resources"]?["requests"]?["storage"]?.DeepClone() },
                ["accessModes"] = spec["accessModes"]?.DeepClone(),
                ["volumeMode"] = Text(spec["volumeMode"]) ?? Filesystem,
                ["storageClassName"] = storageClass,
                ["persistentVolumeReclaimPolicy"] = Text(Server.StorageClass(storageClass)?["reclaimPolicy"]) ?? "Delete",
            },
            ["status"] = new JsonObject { ["phase"] = "Pending" },
        };
        var provisioned = Server.CreateLocked(Volumes, volume);
        var annotated = claim.DeepClone().AsObject();
        SetAnnotation(annotated, "volume.kubernetes.io/storage-provisioner", provisioner);
        SetAnnotation(annotated, "volume.beta.kubernetes.io/storage-provisioner", provisioner);
        Bind(provisioned, Server.Commit(Claims, claim, annotated));
    }

    /// <summary>Syncs every volume, then every unbound claim, until nothing more changes.</summary>
    protected override bool SweepLocked()
    {
        var changed = false;
        for (var pass = 0; pass < 10 && SyncVolumes() | SyncClaims(); pass++)
        {
            changed = true;
        }

        return changed;
    }

    private static IEnumerable<string> ClaimNames(JsonObject pod) =>
        (pod["spec"]?["volumes"] as JsonArray ?? []).OfType<JsonObject>().Select(v => Text(v["persistentVolumeClaim"]?["claimName"])).OfType<string>();

    private string? Provisioner(JsonObject claim) => Text(Server.StorageClass(ClassOf(claim))?["provisioner"]);

    /// <summary>A claim of a class with WaitForFirstConsumer binding; a class that does not exist binds at once (IsDelayBindingMode).</summary>
    private bool WaitsForConsumer(JsonObject claim) => Text(Server.StorageClass(ClassOf(claim))?["volumeBindingMode"]) == "WaitForFirstConsumer";

    /// <summary>syncVolume: unclaimed volumes become Available; those whose claim is gone are deleted or Released.</summary>
    private bool SyncVolumes()
    {
        var changed = false;
        foreach (var pv in Server.Store.List(Volumes, null).Where(v => !IsDeleting(v)))
        {
            var phase = Text(pv["status"]?["phase"]);
            var claimRef = pv["spec"]?["claimRef"] as JsonObject;
            string? wanted = null;
            if (claimRef is null)
            {
                wanted = phase is "Available" or "Released" or "Failed" ? null : "Available";
            }
            else if (Text(claimRef["uid"]) is { Length: > 0 } uid
                && Text(Server.Store.Get(Claims, Text(claimRef["namespace"]) ?? "", Text(claimRef["name"]) ?? "")?["metadata"]?["uid"]) != uid)
            {
                if (Annotation(pv, ProvisionedByAnnotation) is not null && Text(pv["spec"]?["persistentVolumeReclaimPolicy"]) == "Delete")
                {
                    Server.DeleteLocked(Volumes, pv, dryRun: false);
                    changed = true;
                    continue;
                }

                wanted = phase is "Released" or "Failed" ? null : "Released";
            }

            if (wanted is not null)
            {
                var next = pv.DeepClone().AsObject();
                next["status"] = new JsonObject { ["phase"] = wanted };
                Server.Commit(Volumes, pv, next);
                changed = true;
            }
        }

        return changed;
    }

    private bool SyncClaims()
    {
        var changed = false;
        foreach (var claim in Server.Store.List(Claims, null).Where(c => !IsDeleting(c) && !IsBound(c)))
        {
            changed |= SyncClaim(claim);
        }

        return changed;
    }

    /// <summary>syncUnboundClaim for one claim; true when it bound, provisioned or reported something.</summary>
    private bool SyncClaim(JsonObject claim)
    {
        var volumes = Server.Store.List(Volumes, null);
        if (Text(claim["spec"]?["volumeName"]) is { Length: > 0 } volumeName)
        {
            // Asked for one volume by name: bound when it is free or kept for this claim.
            var named = volumes.FirstOrDefault(v => ObjectStore.NameOf(v) == volumeName);
            if (named is null || !IsFreeFor(named, claim))
            {
                return false;
            }

            Bind(named, claim);
            return true;
        }

        var storageClass = ClassOf(claim);
        var waits = WaitsForConsumer(claim);
        var consumer = Consumer(claim);
        if (waits && consumer is null)
        {
            return Report(claim, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
        }

        if (IsPopulated(claim))
        {
            return false;
        }

        if (waits && !CanBeScheduled(consumer!))
        {
            return Report(claim, "Normal", "WaitForPodScheduled", $"waiting for pod {ObjectStore.NameOf(consumer!)} to be scheduled");
        }

        if (BestMatch(claim, storageClass, volumes) is { } match)
        {
            Bind(match, claim);
            return true;
        }

        if (storageClass.Length == 0)
        {
            return Report(claim, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set");
        }

        if (Server.StorageClass(storageClass) is not { } found)
        {
            return Report(claim, "Warning", "ProvisioningFailed", $"storageclass.storage.k8s.io \"{storageClass}\" not found");
        }

        var provisioner = Text(found["provisioner"]) ?? "";
        if (provisioner == NoProvisioner)
        {
            // No in-tree plugin provisions for it (findProvisionablePlugin); with a consumer the
            // scheduler finds no volume for the node and the claim waits on the pod.
            return waits
                ? Report(claim, "Normal", "WaitForPodScheduled", $"waiting for pod {ObjectStore.NameOf(consumer!)} to be scheduled")
                : Report(claim, "Warning", "ProvisioningFailed", $"no volume plugin matched name: {NoProvisioner}");
        }

        if (failingProvisioners.TryGetValue(provisioner, out var failure))
        {
            // The external provisioner's own wording (sig-storage-lib-external-provisioner).
            return Report(claim, "Warning", "ProvisioningFailed", $"failed to provision volume with StorageClass \"{storageClass}\": {failure}", provisioner);
        }

        Provision(claim);
        return true;
    }

    /// <summary>
    /// Records what keeps a claim Pending: at once when it is new for the claim, again (bumping
    /// the count) once the resync period has passed; true when it recorded.
    /// </summary>
    private bool Report(JsonObject claim, string type, string reason, string message, string component = Component)
    {
        var uid = Text(claim["metadata"]?["uid"]) ?? "";
        var now = DateTime.UtcNow;
        if (lastEvents.TryGetValue(uid, out var last) && last.Reason == reason && last.Message == message && now - last.At < Resync)
        {
            return false;
        }

        lastEvents[uid] = (reason, message, now);
        Server.Events.Record(claim, type, reason, message, component);
        return true;
    }

    /// <summary>A claim with a dataSourceRef to a kind of another API group than core or snapshots: a volume populator's to fill.</summary>
    private static bool IsPopulated(JsonObject claim) =>
        claim["spec"]?["dataSourceRef"] is JsonObject reference
        && Text(reference["apiGroup"]) is { Length: > 0 } group
        && group != "snapshot.storage.k8s.io";

    /// <summary>A pod that is not done and mounts the claim.</summary>
    private JsonObject? Consumer(JsonObject claim) =>
        Server.Store.List(Server.Catalog.Find("", "v1", "pods")!, ObjectStore.NamespaceOf(claim))
            .Where(p => !IsDeleting(p) && Text(p["status"]?["phase"]) is not ("Succeeded" or "Failed"))
            .FirstOrDefault(p => ClaimNames(p).Contains(ObjectStore.NameOf(claim)));

    /// <summary>Whether the scheduler can pick a node for the pod, its waiting claims aside: the others exist and are bound.</summary>
    private bool CanBeScheduled(JsonObject pod) =>
        ClaimNames(pod).All(name => Server.Store.Get(Claims, ObjectStore.NamespaceOf(pod), name) is { } claim
            && !IsDeleting(claim) && (IsBound(claim) || WaitsForConsumer(claim)));

    /// <summary>A volume no claim holds, or one kept for this claim by name (a claimRef without uid) or already its own.</summary>
    private static bool IsFreeFor(JsonObject volume, JsonObject claim)
    {
        if (volume["spec"]?["claimRef"] is not JsonObject reference)
        {
            return true;
        }

        var uid = Text(reference["uid"]);
        return Text(reference["name"]) == ObjectStore.NameOf(claim) && Text(reference["namespace"]) == ObjectStore.NamespaceOf(claim)
            && (string.IsNullOrEmpty(uid) || uid == Text(claim["metadata"]?["uid"]));
    }

    /// <summary>findBestMatchForClaim: the smallest Available volume that fits the claim, one kept for it first.</summary>
    private static JsonObject? BestMatch(JsonObject claim, string storageClass, List<JsonObject> volumes)
    {
        var spec = claim["spec"] as JsonObject ?? [];
        var request = Quantities.Parse(spec["resources"]?["requests"]?["storage"])?.ToDecimal() ?? 0;
        var mode = Text(spec["volumeMode"]) ?? Filesystem;
        var modes = (spec["accessModes"] as JsonArray ?? []).Select(Text).ToList();
        return volumes
            .Where(pv => !IsDeleting(pv) && Text(pv["status"]?["phase"]) == "Available" && IsFreeFor(pv, claim)
                && ClassOf(pv) == storageClass
                && (Text(pv["spec"]?["volumeMode"]) ?? Filesystem) == mode
                && modes.All(m => (pv["spec"]?["accessModes"] as JsonArray ?? []).Select(Text).Contains(m))
                && (Quantities.Parse(pv["spec"]?["capacity"]?["storage"])?.ToDecimal() ?? 0) >= request)
            .OrderByDescending(pv => pv["spec"]?["claimRef"] is not null)
            .ThenBy(pv => Quantities.Parse(pv["spec"]?["capacity"]?["storage"])?.ToDecimal() ?? 0)
            .ThenBy(ObjectStore.NameOf, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
