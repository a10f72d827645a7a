using System.Text.Json.Nodes;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Scratch;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Testing.FakeCluster;

namespace CdiTools.Cluster.Tests.Scratch;

/// <summary>
/// Scratch PVCs found, traced to their DataVolume, explained and cleaned up, against cluster states
/// seeded as CDI and Kubernetes leave them (no controller runs, so nothing moves underneath).
/// </summary>
public sealed class ScratchVolumeServiceTests : FakeClusterHarness
{
    protected override FakeClusterOptions Options => new() { Controllers = FakeControllers.None };

    private CdiApi Api()
    {
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{Guid.NewGuid():N}"), defaultNamespace: "vms");
        return new CdiApi(ClusterConnections.Connect(new ClusterTarget(path)));
    }

    private void Seed()
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast", "example.com/fast");
        Server.InstallCdi("v1.66.0");
    }

    private JsonObject Put(string json) => Put(JsonNode.Parse(json)!.AsObject());

    private JsonObject Put(JsonObject obj)
    {
        Server.PutObject(obj);
        var meta = obj["metadata"]!;
        return Server.GetObject((string)obj["apiVersion"]!, (string)obj["kind"]!, (string)meta["name"]!, (string?)meta["namespace"])!;
    }

    private static string Uid(JsonObject obj) => (string)obj["metadata"]!["uid"]!;

    private JsonObject DataVolume(string name, string phase, string size = "10Gi") => Put(new JsonObject
    {
        ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
        ["kind"] = "DataVolume",
        ["metadata"] = Meta(name),
        ["spec"] = new JsonObject
        {
            ["source"] = new JsonObject { ["http"] = new JsonObject { ["url"] = $"https://images.example/{name}.qcow2" } },
            ["storage"] = new JsonObject { ["resources"] = Requests(size) },
        },
        ["status"] = new JsonObject { ["phase"] = phase, ["claimName"] = name },
    });

    private JsonObject Target(JsonObject dataVolume, string? podPhase = null)
    {
        var name = (string)dataVolume["metadata"]!["name"]!;
        var meta = Meta(name, Owner("cdi.kubevirt.io/v1beta1", "DataVolume", dataVolume));
        meta["annotations"] = new JsonObject { ["cdi.kubevirt.io/storage.contentType"] = "kubevirt" };
        if (podPhase is not null)
        {
            meta["annotations"]!["cdi.kubevirt.io/storage.pod.phase"] = podPhase;
        }

        return Put(Claim(meta, "standard", "10Gi", "Pending"));
    }

    private JsonObject Prime(JsonObject target)
    {
        var meta = Meta($"prime-{Uid(target)}", Owner("v1", "PersistentVolumeClaim", target));
        meta["annotations"] = new JsonObject { ["cdi.kubevirt.io/storage.contentType"] = "kubevirt" };
        return Put(Claim(meta, "standard", "10Gi", "Bound"));
    }

    private JsonObject Pod(string name, string? unschedulable = null)
    {
        var status = new JsonObject { ["phase"] = "Pending" };
        if (unschedulable is not null)
        {
            status["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "False", ["reason"] = "Unschedulable", ["message"] = unschedulable });
        }

        return Put(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = Meta(name),
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "importer", ["image"] = "cdi-importer" }) },
            ["status"] = status,
        });
    }

    private JsonObject Scratch(string name, JsonObject? pod, string? storageClass = null, string phase = "Pending", string size = "11Gi")
    {
        var meta = pod is null ? Meta(name) : Meta(name, Owner("v1", "Pod", pod));
        meta["labels"] = new JsonObject { ["app"] = "containerized-data-importer", ["app.kubernetes.io/managed-by"] = "cdi-controller", ["velero.io/exclude-from-backup"] = "true" };
        return Put(Claim(meta, storageClass, size, phase));
    }

    private void Event(JsonObject about, string type, string reason, string message, int count = 1) => Put(new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Event",
        ["metadata"] = Meta($"{about["metadata"]!["name"]}.{Guid.NewGuid():N}"),
        ["involvedObject"] = new JsonObject { ["kind"] = "PersistentVolumeClaim", ["namespace"] = "vms", ["name"] = (string)about["metadata"]!["name"]!, ["uid"] = Uid(about), ["apiVersion"] = "v1" },
        ["reason"] = reason,
        ["message"] = message,
        ["type"] = type,
        ["count"] = count,
        ["firstTimestamp"] = "2026-12-07T10:00:00Z",
        ["lastTimestamp"] = $"2026-12-07T10:0{count}:00Z",
        ["source"] = new JsonObject { ["component"] = "persistentvolume-controller" },
    });

    private static JsonObject Meta(string name, JsonObject? owner = null)
    {
        var meta = new JsonObject { ["name"] = name, ["namespace"] = "vms" };
        if (owner is not null)
        {
            meta["ownerReferences"] = new JsonArray(owner);
        }

        return meta;
    }

    private static JsonObject Owner(string apiVersion, string kind, JsonObject owner) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = (string)owner["metadata"]!["name"]!,
        ["uid"] = Uid(owner),
        ["controller"] = true,
    };

    private static JsonObject Requests(string size) => new() { ["requests"] = new JsonObject { ["storage"] = size } };

    private static JsonObject Claim(JsonObject meta, string? storageClass, string size, string phase)
    {
        var spec = new JsonObject { ["accessModes"] = new JsonArray("ReadWriteOnce"), ["resources"] = Requests(size) };
        if (storageClass is not null)
        {
            spec["storageClassName"] = storageClass;
        }

        meta["labels"] ??= new JsonObject { ["app"] = "containerized-data-importer" };
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "PersistentVolumeClaim", ["metadata"] = meta, ["spec"] = spec, ["status"] = new JsonObject { ["phase"] = phase } };
    }

    private async Task<DataVolumeView> ViewAsync(string name)
    {
        var view = await new DataVolumeService(Api()).GetAsync(name, "vms", default);
        Assert.NotNull(view);
        return view;
    }

    [Fact]
    public async Task A_class_less_scratch_PVC_without_a_volume_is_found_traced_to_its_DataVolume_and_explained()
    {
        Seed();
        var target = Target(DataVolume("fedora", "ImportScheduled"));
        var scratch = Scratch("fedora-scratch", Pod("importer-fedora"));
        Event(scratch, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set", count: 4);

        // Neither a user's claim that happens to end in -scratch, nor a DataVolume's PVC named so, is a scratch PVC.
        Put("""{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"notes-scratch","namespace":"vms"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}""");
        Target(DataVolume("build-scratch", "Succeeded"));

        var volume = Assert.Single(await new ScratchVolumeService(Api()).ListAsync("vms", default));

        Assert.Equal(("fedora-scratch", "fedora", "fedora", "fedora", "importer-fedora"), (volume.Name, volume.Claim, volume.TargetPvc, volume.DataVolume, volume.Pod));
        Assert.Equal((11L << 30, "Pending", (string?)null), (volume.Size, volume.Phase, volume.StorageClass));
        Assert.False(volume.Orphaned);
        var cause = Assert.IsType<ScratchFinding>(volume.PendingCause);
        Assert.Equal(("ScratchNoMatchingPersistentVolume", ScratchFindingSeverity.Error), (cause.Id, cause.Severity));
        Assert.Contains("at least 11Gi", cause.Message);
        Assert.Contains("capacity 11Gi", cause.Fix);
        Assert.Equal(Uid(target), (await Api().GetPersistentVolumeClaimAsync("fedora", "vms", default))!.Metadata.Uid);

        // A volume that fits turns the error into news: the binder takes it on its next pass.
        Put("""{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-20g"},"spec":{"capacity":{"storage":"20Gi"},"accessModes":["ReadWriteOnce"],"volumeMode":"Filesystem"},"status":{"phase":"Available"}}""");
        var fits = Assert.Single(await new ScratchVolumeService(Api()).ListAsync("vms", default)).PendingCause!;
        Assert.Equal(ScratchFindingSeverity.Info, fits.Severity);
        Assert.Contains("pv-20g", fits.Message);
    }

    [Fact]
    public async Task A_scratch_PVC_of_a_PVC_prime_is_traced_through_the_prime_and_its_provisioning_failure_shown()
    {
        Seed();
        var target = Target(DataVolume("win", "ImportScheduled"));
        var primeName = (string)Prime(target)["metadata"]!["name"]!;
        var scratch = Scratch($"{primeName}-scratch", Pod($"importer-{primeName}"), storageClass: "fast");
        Event(scratch, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass \"fast\": rpc error: code = ResourceExhausted desc = pool full", count: 3);

        var volume = Assert.Single(await new ScratchVolumeService(Api()).ListAsync(null, default));

        Assert.Equal((primeName, "win", "win", "fast"), (volume.Claim, volume.TargetPvc, volume.DataVolume, volume.StorageClass));
        var cause = volume.PendingCause!;
        Assert.Equal(("ScratchProvisioningFailed", ScratchFindingSeverity.Error), (cause.Id, cause.Severity));
        Assert.Contains("pool full", cause.Message);
        Assert.Contains("(3 times)", cause.Message);

        // Get-CdiDataVolume's view of the DataVolume names the same cause.
        var problem = (await ViewAsync("win")).ScratchProblem;
        Assert.Equal("ScratchProvisioningFailed", problem?.Id);
    }

    [Fact]
    public async Task Scratch_PVCs_whose_claim_is_gone_finished_or_whose_pod_is_gone_are_orphaned_and_only_those_are_removed()
    {
        Seed();
        Target(DataVolume("live", "ImportScheduled"));
        Scratch("live-scratch", Pod("importer-live"), "standard", "Bound");
        Scratch("gone-scratch", Pod("importer-gone"), "standard", "Bound");
        Target(DataVolume("done", "ImportScheduled"), podPhase: "Succeeded");
        Scratch("done-scratch", Pod("importer-done"), "standard", "Bound");
        Target(DataVolume("podless", "ImportScheduled"));
        Scratch("podless-scratch", Pod("importer-podless"), "standard", "Bound");
        Assert.True(Server.RemoveObject("v1", "Pod", "importer-podless", "vms"));
        var service = new ScratchVolumeService(Api());

        var volumes = (await service.ListAsync("vms", default)).ToDictionary(v => v.Name);

        Assert.Null(volumes["live-scratch"].OrphanReason);
        Assert.Equal("its PVC gone is gone", volumes["gone-scratch"].OrphanReason);
        Assert.Equal("the import into done has finished", volumes["done-scratch"].OrphanReason);
        Assert.Equal("its pod importer-podless is gone", volumes["podless-scratch"].OrphanReason);
        Assert.All(volumes.Values, v => Assert.Null(v.PendingCause));

        var inUse = await Assert.ThrowsAsync<ClusterException>(() => service.RemoveAsync(volumes["live-scratch"], default));
        Assert.Equal("ScratchVolumeInUse", inUse.ErrorId);
        Assert.Contains("DataVolume live", inUse.Message);
        Assert.True((await service.RemoveAsync(volumes["gone-scratch"], default)).Found);
        Assert.Null(Server.GetObject("v1", "PersistentVolumeClaim", "gone-scratch", "vms"));
        Assert.NotNull(Server.GetObject("v1", "PersistentVolumeClaim", "live-scratch", "vms"));

        // A claim made again under the same name is another claim: the old listing does not delete it.
        Scratch("gone-scratch", Pod("importer-gone"), "standard", "Bound");
        Assert.False((await service.RemoveAsync(volumes["gone-scratch"], default)).Found);
        Assert.NotNull(Server.GetObject("v1", "PersistentVolumeClaim", "gone-scratch", "vms"));
    }

    [Fact]
    public async Task An_orphan_held_by_a_finalizer_is_marked_for_deletion_and_says_which_finalizer_holds_it()
    {
        Seed();
        var held = Scratch("held-scratch", Pod("importer-held"), "standard", "Bound");
        held["metadata"]!["finalizers"] = new JsonArray("kubernetes.io/pvc-protection");
        Server.PutObject(held);
        var service = new ScratchVolumeService(Api());
        var orphan = Assert.Single(await service.ListAsync("vms", default));

        var outcome = await service.RemoveAsync(orphan, default);

        Assert.Equal("its PVC held is gone", orphan.OrphanReason);
        Assert.True(outcome.Pending);
        Assert.Equal(["kubernetes.io/pvc-protection"], outcome.PendingFinalizers);
        Assert.Equal("Terminating", Assert.Single(await service.ListAsync("vms", default)).Phase);
    }

    [Fact]
    public async Task What_the_user_may_not_read_makes_the_answer_less_precise_not_an_error()
    {
        Seed();
        Target(DataVolume("fedora", "ImportScheduled"));
        Scratch("fedora-scratch", Pod("importer-fedora"));
        Server.Deny("get", "pods");
        Server.Deny("list", "events");
        Server.Deny("list", "persistentvolumes");

        var volume = Assert.Single(await new ScratchVolumeService(Api()).ListAsync("vms", default));

        // A pod that cannot be read is not taken for gone; without events or volumes the class-less claim still needs one.
        Assert.False(volume.Orphaned);
        Assert.Equal(("ScratchNoMatchingPersistentVolume", ScratchFindingSeverity.Error), (volume.PendingCause!.Id, volume.PendingCause.Severity));

        Server.Deny("list", "persistentvolumeclaims");
        var view = await ViewAsync("fedora");
        Assert.Equal("ImportScheduled", view.Phase);
        Assert.Null(view.ScratchProblem);
    }

    [Fact]
    public async Task A_namespace_whose_claims_the_user_may_not_read_leaves_the_other_DataVolumes_explained()
    {
        Seed();
        Target(DataVolume("fedora", "ImportScheduled"));
        Scratch("fedora-scratch", Pod("importer-fedora"));
        Server.AddNamespace("hidden");
        var hidden = DataVolume("fedora", "ImportScheduled");
        hidden["metadata"]!["namespace"] = "hidden";
        Put(hidden);
        Server.Deny("list", "persistentvolumeclaims", inNamespace: "hidden");
        var dataVolumes = new DataVolumeService(Api());
        var views = new[] { (await dataVolumes.GetAsync("fedora", "hidden", default))!, (await dataVolumes.GetAsync("fedora", "vms", default))! };

        var findings = await new ScratchVolumeService(Api()).ExplainWaitAsync(views, default);

        Assert.Null(findings[0]);
        Assert.Equal("ScratchNoMatchingPersistentVolume", findings[1]?.Id);
    }

    [Fact]
    public async Task A_scratch_PVC_refused_by_quota_is_read_from_CDI_s_event_copied_from_the_prime()
    {
        Seed();
        var target = Target(DataVolume("fedora", "ImportScheduled"));
        var refusal = $"persistentvolumeclaims \"prime-{Uid(target)}-scratch\" is forbidden: exceeded quota: storage, requested: requests.storage=11Gi, used: requests.storage=35Gi, limited: requests.storage=40Gi";
        Event(target, "Warning", "ErrExceededQuota", $"[prime-{Uid(target)}] : {refusal}", count: 5);

        var problem = (await ViewAsync("fedora")).ScratchProblem;

        Assert.NotNull(problem);
        Assert.Equal(("ScratchQuotaExceeded", ScratchFindingSeverity.Error), (problem.Id, problem.Severity));
        Assert.Equal($"CDI cannot create the scratch PVC vms/fedora-scratch (refused 5 times): {refusal}", problem.Message);
        Assert.Contains("Raise the ResourceQuota", problem.Fix);
    }

    [Fact]
    public async Task A_LimitRange_that_refuses_the_scratch_PVC_leaves_no_event_and_is_found_by_the_preflight()
    {
        Seed();
        Target(DataVolume("fedora", "ImportScheduled"));
        Put("""{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"pvc-cap","namespace":"vms"},"spec":{"limits":[{"type":"PersistentVolumeClaim","max":{"storage":"10Gi"}}]}}""");

        var problem = (await ViewAsync("fedora")).ScratchProblem;

        Assert.Equal("ScratchLimitRangeExceeded", problem?.Id);
        Assert.StartsWith("CDI has not created the scratch PVC vms/fedora-scratch. LimitRange vms/pvc-cap caps a PVC at 10Gi", problem!.Message);
    }

    [Fact]
    public async Task A_DataVolume_past_its_start_or_with_a_bound_scratch_PVC_has_no_scratch_problem()
    {
        Seed();
        Put("""{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"pvc-cap","namespace":"vms"},"spec":{"limits":[{"type":"PersistentVolumeClaim","max":{"storage":"10Gi"}}]}}""");
        Target(DataVolume("running", "ImportInProgress"));
        Target(DataVolume("bound", "ImportScheduled"));
        Scratch("bound-scratch", Pod("importer-bound"), "standard", "Bound");
        Target(DataVolume("binding", "ImportScheduled"));
        Scratch("binding-scratch", Pod("importer-binding"), "standard");

        Assert.Null((await ViewAsync("running")).ScratchProblem);
        Assert.Null((await ViewAsync("bound")).ScratchProblem);

        // Pending with nothing recorded yet is news for Get-CdiScratchVolume, not a problem of the DataVolume.
        Assert.Null((await ViewAsync("binding")).ScratchProblem);
        var pending = (await new ScratchVolumeService(Api()).ListAsync("vms", default)).Single(v => v.Name == "binding-scratch");
        Assert.Equal(("ScratchPending", ScratchFindingSeverity.Info), (pending.PendingCause!.Id, pending.PendingCause.Severity));
    }

    [Fact]
    public async Task Scratch_and_target_on_different_nodes_is_read_from_the_scheduler_and_a_missing_class_from_the_PV_controller()
    {
        Seed();
        Target(DataVolume("apart", "ImportScheduled"));
        Scratch("apart-scratch", Pod("importer-apart", "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector."), "local");
        Target(DataVolume("typo", "ImportScheduled"));
        var typo = Scratch("typo-scratch", Pod("importer-typo"), "fsat");
        Event(typo, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"fsat\" not found");

        var volumes = (await new ScratchVolumeService(Api()).ListAsync("vms", default)).ToDictionary(v => v.Name);

        var apart = volumes["apart-scratch"].PendingCause!;
        Assert.Equal(("ScratchWaitForFirstConsumer", ScratchFindingSeverity.Error), (apart.Id, apart.Severity));
        Assert.Contains("different nodes", apart.Message);
        Assert.Contains("volume node affinity conflict", apart.Message);
        var missing = volumes["typo-scratch"].PendingCause!;
        Assert.Equal(("ScratchStorageClassMissing", ScratchFindingSeverity.Error), (missing.Id, missing.Severity));
        Assert.Contains("'fsat'", missing.Message);
    }

    [Fact]
    public async Task Waiting_warns_once_about_a_scratch_PVC_that_holds_the_DataVolume_up_and_the_timeout_names_it()
    {
        Seed();
        var target = Target(DataVolume("fedora", "ImportScheduled"));
        Event(target, "Warning", "ErrExceededQuota", "persistentvolumeclaims \"fedora-scratch\" is forbidden: exceeded quota: storage, requested: requests.storage=11Gi, used: requests.storage=35Gi, limited: requests.storage=40Gi");
        var notes = new List<DataVolumeNote>();
        var waiter = new DataVolumeWaiter(Api()) { ScratchCheckInterval = TimeSpan.FromMilliseconds(100) };

        var result = Assert.Single(await waiter.WaitAsync([("vms", "fedora")], new DataVolumeWaitOptions("Succeeded", 3, TimeSpan.FromSeconds(1.5)), _ => { }, notes.Add, default));

        var warned = notes.Where(n => n.IsWarning && n.Text.Contains("ScratchQuotaExceeded", StringComparison.Ordinal)).ToList();
        Assert.Single(warned);
        Assert.Contains("exceeded quota: storage", warned[0].Text);
        Assert.Equal("WaitTimedOut", result.Assessment.ErrorId);
        Assert.Contains("Its scratch PVC holds it up (ScratchQuotaExceeded)", result.Assessment.Message);
        Assert.Contains("Raise the ResourceQuota", result.Assessment.Hint);
    }
}
