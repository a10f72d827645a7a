using System.Globalization;
using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>
/// What keeps a scratch PVC Pending, end to end through the real client: the quota and LimitRange
/// admission on PVC creates, the PV controller and provisioners, and CDI's workers (the importer
/// or upload pod, the PVC' and the scratch PVC) with the events and conditions CDI shows.
/// </summary>
public sealed class FakeScratchSpaceTests : FakeDataVolumeHarness
{
    /// <summary>A 1Gi DataVolume's target with CDIConfig's 6% (GetRequiredSpace), and its scratch PVC (GetUsableSpace, then GetRequiredSpace and RoundUp).</summary>
    private const long TargetOf1Gi = 1138166334;
    private const long ScratchOf1Gi = 1138753536;

    private const string Preemption = " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

    private static readonly string[] PendingClaims = ["gone", "local", "failing"];
    private static readonly string[] FilesystemAndBlockDataVolumes = ["fs", "raw"];

    private static string Forbidden(string claim) => $"persistentvolumeclaims \"{claim}\" is forbidden: ";

    private static JsonObject Claim(string name, string size, string? storageClass = null, string mode = "Filesystem", string access = "ReadWriteOnce")
    {
        var spec = new JsonObject
        {
            ["accessModes"] = new JsonArray(access),
            ["volumeMode"] = mode,
            ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = size } },
        };
        if (storageClass is not null)
        {
            spec["storageClassName"] = storageClass;
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
            ["spec"] = spec,
        };
    }

    private static JsonObject PodUsing(string name, string claim) => JsonNode.Parse($$$"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","namespace":"default"},
         "spec":{"containers":[{"name":"c","image":"busybox"}],"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"{{{claim}}}"}}]}}
        """)!.AsObject();

    private static string? Text(JsonNode? node) => (string?)node;

    private static string? AnnotationOf(JsonObject? obj, string key) => Text(obj?["metadata"]?["annotations"]?[key]);

    private static (string? Kind, string? Name, string? Uid, bool? Controller) OwnerOf(JsonObject obj)
    {
        var owner = Assert.Single((obj["metadata"]!["ownerReferences"] as JsonArray)!)!;
        return (Text(owner["kind"]), Text(owner["name"]), Text(owner["uid"]), (bool?)owner["controller"]);
    }

    private void AddVolume(string name, string size, string? storageClass = null, string? mode = null, params string[] access)
    {
        var spec = new JsonObject
        {
            ["capacity"] = new JsonObject { ["storage"] = size },
            ["accessModes"] = new JsonArray([.. (access.Length == 0 ? ["ReadWriteOnce"] : access).Select(a => (JsonNode?)a)]),
            ["hostPath"] = new JsonObject { ["path"] = "/mnt/" + name },
        };
        if (storageClass is not null)
        {
            spec["storageClassName"] = storageClass;
        }

        if (mode is not null)
        {
            spec["volumeMode"] = mode;
        }

        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolume",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
            ["status"] = new JsonObject { ["phase"] = "Available" },
        });
    }

    private void AddQuota(string name, string hard, string? used = null)
    {
        var quota = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ResourceQuota",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["hard"] = JsonNode.Parse(hard) },
        };
        if (used is not null)
        {
            quota["status"] = new JsonObject { ["used"] = JsonNode.Parse(used) };
        }

        Server.PutObject(quota);
    }

    private void AddLimitRange(string name, string limits) => Server.PutObject(new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "LimitRange",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        ["spec"] = new JsonObject { ["limits"] = JsonNode.Parse(limits) },
    });

    private async Task<JsonObject> CreateClaimAsync(JsonObject claim) =>
        Node(await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(KubernetesJson.Deserialize<V1PersistentVolumeClaim>(claim.ToJsonString()), "default"));

    private JsonObject? Stored(string kind, string name) => Server.GetObject("v1", kind, name, kind == "PersistentVolume" ? null : "default");

    private JsonObject? Used(string quota) => Stored("ResourceQuota", quota)?["status"]?["used"] as JsonObject;

    private async Task<JsonObject> WaitForObjectAsync(string kind, string name, Func<JsonObject, bool> condition)
    {
        JsonObject? found = null;
        await EventuallyAsync(() => Task.FromResult((found = Stored(kind, name)) is not null && condition(found)), TimeSpan.FromSeconds(15));
        return found!;
    }

    private Task<JsonObject> WaitForBoundAsync(string claim) => WaitForObjectAsync("PersistentVolumeClaim", claim, c => Text(c["status"]?["phase"]) == "Bound");

    private async Task<Corev1Event> WaitForEventAsync(string name, string kind, Func<Corev1Event, bool> match)
    {
        Corev1Event? found = null;
        await EventuallyAsync(async () => (found = (await EventsAboutAsync(name, kind: kind)).FirstOrDefault(match)) is not null, TimeSpan.FromSeconds(15));
        return found!;
    }

    private void InstallCdiWithDefaultClass(string provisioner = "csi.example.com")
    {
        Server.AddStorageClass("standard", provisioner, isDefault: true);
        Server.InstallCdi();
    }

    // Scratch space on its own class (scratchy, provisioner scratch.example.com), set through HyperConverged.
    private void InstallCdiWithScratchClass()
    {
        InstallCdiWithDefaultClass();
        Server.AddStorageClass("scratchy", "scratch.example.com");
        Server.InstallHyperConverged("scratchy");
    }

    [Fact]
    public async Task A_claim_over_a_quota_is_refused_in_the_quota_plugins_words_and_an_admitted_one_moves_the_seeded_usage_both_ways()
    {
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast");
        AddQuota("storage", """{"requests.storage":"6Gi","persistentvolumeclaims":"2"}""", """{"requests.storage":"3Gi","persistentvolumeclaims":"1"}""");
        AddQuota("fast-only", """{"fast.storageclass.storage.k8s.io/requests.storage":"1Gi"}""");

        await CreateClaimAsync(Claim("first", "2Gi"));
        var used = Used("storage")!;
        Assert.Equal("5Gi", Text(used["requests.storage"]));
        Assert.Equal("2", Text(used["persistentvolumeclaims"]));
        Assert.Equal("6Gi", Text(Stored("ResourceQuota", "storage")!["status"]!["hard"]!["requests.storage"]));
        Assert.Null(Used("fast-only"));

        // Both exceeded resources are quoted, sorted, with the claim's share, the usage and the limit.
        var (error, status) = await FailsAsync(() => CreateClaimAsync(Claim("second", "3Gi")));
        Assert.Equal(403, (int)error.Response.StatusCode);
        Assert.Equal("Forbidden", Text(status["reason"]));
        Assert.Equal(
            Forbidden("second") + "exceeded quota: storage, requested: persistentvolumeclaims=1,requests.storage=3Gi, "
                + "used: persistentvolumeclaims=2,requests.storage=5Gi, limited: persistentvolumeclaims=2,requests.storage=6Gi",
            Text(status["message"]));
        Assert.Equal(("second", "persistentvolumeclaims"), (Text(status["details"]!["name"]), Text(status["details"]!["kind"])));

        // A quota on one class tracks only that class's claims; one that never counted shows 0 used.
        var (_, byClass) = await FailsAsync(() => CreateClaimAsync(Claim("quick", "1536Mi", "fast")));
        Assert.Equal(
            Forbidden("quick") + "exceeded quota: fast-only, requested: fast.storageclass.storage.k8s.io/requests.storage=1536Mi, "
                + "used: fast.storageclass.storage.k8s.io/requests.storage=0, limited: fast.storageclass.storage.k8s.io/requests.storage=1Gi",
            Text(byClass["message"]));
        Assert.Equal("5Gi", Text(Used("storage")!["requests.storage"]));

        await Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync("first", "default");
        used = Used("storage")!;
        Assert.Equal(("3Gi", "1"), (Text(used["requests.storage"]), Text(used["persistentvolumeclaims"])));
    }

    [Fact]
    public async Task A_LimitRange_refuses_claims_above_its_max_or_below_its_min_in_the_limitrangers_words()
    {
        Server.AddStorageClass("standard", isDefault: true);
        AddLimitRange("pvcs", """[{"type":"Container","max":{"memory":"1Gi"}},{"type":"PersistentVolumeClaim","max":{"storage":"10Gi"},"min":{"storage":"1Gi"}}]""");

        var (error, big) = await FailsAsync(() => CreateClaimAsync(Claim("big", "11Gi")));
        Assert.Equal(403, (int)error.Response.StatusCode);
        Assert.Equal("Forbidden", Text(big["reason"]));
        Assert.Equal(Forbidden("big") + "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 11Gi", Text(big["message"]));
        var (_, small) = await FailsAsync(() => CreateClaimAsync(Claim("small", "500Mi")));
        Assert.Equal(Forbidden("small") + "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi", Text(small["message"]));

        await CreateClaimAsync(Claim("fits", "10Gi"));
        Assert.NotNull(Stored("PersistentVolumeClaim", "fits"));
    }

    [Fact]
    public async Task A_claim_without_a_class_binds_to_the_smallest_Available_volume_without_one_that_fits_it()
    {
        AddVolume("pv-block", "11Gi", mode: "Block");
        AddVolume("pv-small", "5Gi");
        AddVolume("pv-shared", "11Gi", access: "ReadWriteMany");
        AddVolume("pv-fast", "11Gi", storageClass: "fast");
        AddVolume("pv-roomy", "50Gi");
        AddVolume("pv-fit", "12Gi", storageClass: "", access: ["ReadWriteOnce", "ReadWriteMany"]);

        var created = await CreateClaimAsync(Claim("disk", "10Gi", storageClass: ""));
        var bound = await WaitForBoundAsync("disk");

        Assert.Equal("pv-fit", Text(bound["spec"]!["volumeName"]));
        Assert.Equal("12Gi", Text(bound["status"]!["capacity"]!["storage"]));
        Assert.Equal(["ReadWriteOnce", "ReadWriteMany"], (bound["status"]!["accessModes"] as JsonArray)!.Select(Text));
        var volume = Stored("PersistentVolume", "pv-fit")!;
        Assert.Equal("Bound", Text(volume["status"]!["phase"]));
        Assert.Equal(("disk", "default", Text(created["metadata"]!["uid"])), (Text(volume["spec"]!["claimRef"]!["name"]), Text(volume["spec"]!["claimRef"]!["namespace"]), Text(volume["spec"]!["claimRef"]!["uid"])));
        Assert.Equal("Available", Text(Stored("PersistentVolume", "pv-roomy")!["status"]!["phase"]));

        // A static volume outlives its claim, Released, as its policy is not Delete.
        await Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync("disk", "default");
        await WaitForObjectAsync("PersistentVolume", "pv-fit", v => Text(v["status"]?["phase"]) == "Released");
    }

    [Fact]
    public async Task Without_a_volume_that_fits_a_classless_claim_stays_Pending_with_FailedBinding_until_one_is_created()
    {
        AddVolume("pv-small", "5Gi");
        await CreateClaimAsync(Claim("disk", "10Gi"));

        var failed = await WaitForEventAsync("disk", "PersistentVolumeClaim", e => e.Reason == "FailedBinding");
        Assert.Equal(("Normal", "no persistent volumes available for this claim and no storage class is set", "persistentvolume-controller"),
            (failed.Type, failed.Message, failed.Source.Component));
        await Task.Delay(200);
        Assert.Equal("Pending", Text(Stored("PersistentVolumeClaim", "disk")!["status"]!["phase"]));

        await Client.CoreV1.CreatePersistentVolumeAsync(new V1PersistentVolume
        {
            Metadata = new V1ObjectMeta { Name = "pv-later" },
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = new("10Gi") },
                AccessModes = ["ReadWriteOnce"],
                HostPath = new V1HostPathVolumeSource { Path = "/mnt/later" },
            },
        });
        Assert.Equal("pv-later", Text((await WaitForBoundAsync("disk"))["spec"]!["volumeName"]));
    }

    [Fact]
    public async Task Claims_of_a_missing_class_a_class_without_provisioner_and_a_failing_provisioner_stay_Pending_with_their_events()
    {
        Server.AddStorageClass("standard", "example.com/csi");
        Server.AddStorageClass("local", "kubernetes.io/no-provisioner");
        Server.FailProvisioning("example.com/csi", "rpc error: code = ResourceExhausted desc = pool is full");
        await CreateClaimAsync(Claim("gone", "1Gi", "missing"));
        await CreateClaimAsync(Claim("local", "1Gi", "local"));
        await CreateClaimAsync(Claim("failing", "1Gi", "standard"));

        var missing = await WaitForEventAsync("gone", "PersistentVolumeClaim", e => e.Reason == "ProvisioningFailed");
        Assert.Equal(("Warning", "storageclass.storage.k8s.io \"missing\" not found"), (missing.Type, missing.Message));
        var local = await WaitForEventAsync("local", "PersistentVolumeClaim", e => e.Reason == "ProvisioningFailed");
        Assert.Equal(("Warning", "no volume plugin matched name: kubernetes.io/no-provisioner"), (local.Type, local.Message));
        var failing = await WaitForEventAsync("failing", "PersistentVolumeClaim", e => e.Reason == "ProvisioningFailed");
        Assert.Equal(("Warning", "failed to provision volume with StorageClass \"standard\": rpc error: code = ResourceExhausted desc = pool is full", "example.com/csi"),
            (failing.Type, failing.Message, failing.Source.Component));
        Assert.All(PendingClaims, name => Assert.Equal("Pending", Text(Stored("PersistentVolumeClaim", name)!["status"]!["phase"])));

        // A class without a provisioner takes only volumes of its own class.
        AddVolume("pv-plain", "2Gi");
        AddVolume("pv-local", "2Gi", storageClass: "local");
        Assert.Equal("pv-local", Text((await WaitForBoundAsync("local"))["spec"]!["volumeName"]));

        Server.ClearProvisioningFailure("example.com/csi");
        var provisioned = await WaitForBoundAsync("failing");
        var volume = Stored("PersistentVolume", Text(provisioned["spec"]!["volumeName"])!)!;
        Assert.Equal("pvc-" + Text(provisioned["metadata"]!["uid"]), ObjectName(volume));
        Assert.Equal(("standard", "1Gi", "example.com/csi"), (Text(volume["spec"]!["storageClassName"]), Text(volume["spec"]!["capacity"]!["storage"]), AnnotationOf(volume, "pv.kubernetes.io/provisioned-by")));

        // A provisioned volume goes with its claim.
        await Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync("failing", "default");
        await EventuallyAsync(() => Task.FromResult(Stored("PersistentVolume", ObjectName(volume)) is null));
    }

    [Fact]
    public async Task A_WaitForFirstConsumer_claim_waits_for_a_pod_that_uses_it()
    {
        Server.AddStorageClass("lazy", "example.com/csi", volumeBindingMode: "WaitForFirstConsumer");
        await CreateClaimAsync(Claim("disk", "1Gi", "lazy"));

        var waiting = await WaitForEventAsync("disk", "PersistentVolumeClaim", e => e.Reason == "WaitForFirstConsumer");
        Assert.Equal(("Normal", "waiting for first consumer to be created before binding"), (waiting.Type, waiting.Message));
        await Task.Delay(200);
        Assert.Equal("Pending", Text(Stored("PersistentVolumeClaim", "disk")!["status"]!["phase"]));

        Server.PutObject(PodUsing("consumer", "disk"));
        Assert.StartsWith("pvc-", Text((await WaitForBoundAsync("disk"))["spec"]!["volumeName"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scenario_names_the_provisioners_that_fail()
    {
        FakeClusterScenario.Parse("""
            {
              "storageClasses": [{ "name": "standard", "provisioner": "example.com/csi", "default": true }],
              "failingProvisioners": { "example.com/csi": "out of capacity" }
            }
            """).ApplyTo(Server);
        await CreateClaimAsync(Claim("disk", "1Gi"));

        var failed = await WaitForEventAsync("disk", "PersistentVolumeClaim", e => e.Reason == "ProvisioningFailed");
        Assert.Equal("failed to provision volume with StorageClass \"standard\": out of capacity", failed.Message);
    }

    [Fact]
    public async Task An_http_import_works_through_a_PVC_prime_an_importer_pod_and_a_scratch_PVC_that_all_go_when_it_is_done()
    {
        InstallCdiWithDefaultClass();
        Server.FailImport("default", "disk", "Error", "Unable to process data: stream error");
        await CreateAsync(HttpDataVolume("disk"));
        await WaitForAsync("disk", dv => (int?)dv["status"]?["restartCount"] >= 1);

        var target = Stored("PersistentVolumeClaim", "disk")!;
        var primeName = "prime-" + Text(target["metadata"]!["uid"]);
        Assert.Equal(primeName, AnnotationOf(target, "cdi.kubevirt.io/storage.populator.pvcPrime"));
        var prime = Stored("PersistentVolumeClaim", primeName)!;
        Assert.Equal(("PersistentVolumeClaim", "disk", Text(target["metadata"]!["uid"]), true), OwnerOf(prime));
        foreach (var field in new[] { "accessModes", "resources", "storageClassName", "volumeMode" })
        {
            Assert.True(JsonNode.DeepEquals(target["spec"]![field], prime["spec"]![field]), field);
        }

        Assert.Null(prime["spec"]!["dataSourceRef"]);
        Assert.Equal("", AnnotationOf(prime, "cdi.kubevirt.io/storage.bind.immediate.requested"));
        Assert.Equal("Bound", Text(prime["status"]!["phase"]));
        Assert.Equal("Pending", Text(target["status"]!["phase"]));
        Assert.Contains(await EventsAboutAsync("disk", kind: "PersistentVolumeClaim"), e => (e.Reason, e.Message) == ("CreatedPVCPrimeSuccessfully", "PVC Prime created successfully"));

        var pod = Stored("Pod", "importer-" + primeName)!;
        Assert.Equal(("PersistentVolumeClaim", primeName, Text(prime["metadata"]!["uid"]), true), OwnerOf(pod));
        Assert.Equal("Running", Text(pod["status"]!["phase"]));
        var scratchVolume = (pod["spec"]!["volumes"] as JsonArray)!.Single(v => Text(v!["name"]) == "cdi-scratch-vol")!;
        Assert.Equal(primeName + "-scratch", Text(scratchVolume["persistentVolumeClaim"]!["claimName"]));

        var scratch = Stored("PersistentVolumeClaim", primeName + "-scratch")!;
        Assert.Equal(("Pod", "importer-" + primeName, Text(pod["metadata"]!["uid"]), true), OwnerOf(scratch));
        Assert.Equal(
            """{"app":"containerized-data-importer","app.kubernetes.io/component":"storage","app.kubernetes.io/managed-by":"cdi-controller","velero.io/exclude-from-backup":"true"}""",
            scratch["metadata"]!["labels"]!.ToJsonString());
        Assert.Equal(["ReadWriteOnce"], (scratch["spec"]!["accessModes"] as JsonArray)!.Select(Text));
        Assert.Equal(("standard", "Filesystem", ScratchOf1Gi.ToString(CultureInfo.InvariantCulture)), (Text(scratch["spec"]!["storageClassName"]), Text(scratch["spec"]!["volumeMode"]), Text(scratch["spec"]!["resources"]!["requests"]!["storage"])));
        Assert.Equal("Bound", Text(scratch["status"]!["phase"]));

        Server.ClearImportFailure("default", "disk");
        await WaitForPhaseAsync("disk", "Succeeded");
        Assert.Null(Stored("PersistentVolumeClaim", primeName));
        Assert.Null(Stored("PersistentVolumeClaim", primeName + "-scratch"));
        Assert.Null(Stored("Pod", "importer-" + primeName));
        var done = Stored("PersistentVolumeClaim", "disk")!;
        Assert.Equal(("Bound", "pvc-" + Text(prime["metadata"]!["uid"])), (Text(done["status"]!["phase"]), Text(done["spec"]!["volumeName"])));
        await EventuallyAsync(() => Task.FromResult(Text(Stored("PersistentVolume", "pvc-" + Text(prime["metadata"]!["uid"]))?["spec"]?["claimRef"]?["name"]) == "disk"));
        Assert.Single(Server.ListObjects("v1", "PersistentVolume"));
    }

    [Fact]
    public async Task The_scratch_PVC_takes_CDIConfigs_scratch_class_and_CDIs_size_from_the_claims_usable_space()
    {
        InstallCdiWithScratchClass();
        var config = Server.GetObject("cdi.kubevirt.io/v1beta1", "CDIConfig", "config")!;
        config["status"]!["filesystemOverhead"] = JsonNode.Parse("""{"global":"0.06","storageClass":{"standard":"0.1","scratchy":"0.2"}}""");
        Server.PutObject(config);

        foreach (var (name, mode) in new[] { ("fs", "Filesystem"), ("raw", "Block") })
        {
            var dv = HttpDataVolume(name);
            dv["spec"]!.AsObject().Remove("storage");
            dv["spec"]!["pvc"] = JsonNode.Parse("""{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"10Gi"}}}""");
            dv["spec"]!["pvc"]!["volumeMode"] = mode;
            Server.FailImport("default", name, "Error", "Unable to process data: stream error");
            await CreateAsync(dv);
        }

        JsonObject ScratchOf(string dataVolume) =>
            Stored("PersistentVolumeClaim", AnnotationOf(Stored("PersistentVolumeClaim", dataVolume), "cdi.kubevirt.io/storage.populator.pvcPrime") + "-scratch")!;
        await EventuallyAsync(() => Task.FromResult(FilesystemAndBlockDataVolumes.All(n => AnnotationOf(Stored("PersistentVolumeClaim", n), "cdi.kubevirt.io/storage.populator.pvcPrime") is not null)));
        await EventuallyAsync(() => Task.FromResult(FilesystemAndBlockDataVolumes.All(n => Stored("PersistentVolumeClaim", AnnotationOf(Stored("PersistentVolumeClaim", n), "cdi.kubevirt.io/storage.populator.pvcPrime") + "-scratch") is not null)));

        // 10Gi less the class's 10% (rounded down to 1 MiB), plus the scratch class's 20%: 11171Mi.
        var fs = ScratchOf("fs");
        Assert.Equal(("scratchy", "11713642496"), (Text(fs["spec"]!["storageClassName"]), Text(fs["spec"]!["resources"]!["requests"]!["storage"])));

        // A Block claim has no filesystem overhead to take off; the scratch PVC is Filesystem all the same.
        var raw = ScratchOf("raw");
        Assert.Equal(("12884901888", "Filesystem"), (Text(raw["spec"]!["resources"]!["requests"]!["storage"]), Text(raw["spec"]!["volumeMode"])));
        Assert.Equal("scratch.example.com", AnnotationOf(Stored("PersistentVolume", Text((await WaitForBoundAsync(ObjectName(raw)))["spec"]!["volumeName"])!), "pv.kubernetes.io/provisioned-by"));
    }

    [Fact]
    public async Task The_quota_refuses_CDIs_target_and_PVC_prime_too_each_with_the_event_CDI_records()
    {
        InstallCdiWithDefaultClass();
        AddQuota("storage", """{"requests.storage":"1Gi"}""");
        await CreateAsync(HttpDataVolume("disk"));

        // The DataVolume controller's own claim: the DataVolume stays Pending with the API's message.
        var refused = await WaitForEventAsync("disk", "DataVolume", e => e.Reason == "ErrExceededQuota");
        Assert.Equal(("Warning", Forbidden("disk") + $"exceeded quota: storage, requested: requests.storage={TargetOf1Gi}, used: requests.storage=0, limited: requests.storage=1Gi"),
            (refused.Type, refused.Message));
        var pending = await GetAsync("disk");
        Assert.Equal(("Pending", "No PVC found"), (Phase(pending), (string?)ConditionOf(pending, "Bound")!["message"]));
        Assert.Null(Stored("PersistentVolumeClaim", "disk"));

        // Room for the target only: the populator cannot make its PVC' and says so on the target.
        await Client.CoreV1.PatchNamespacedResourceQuotaAsync(new V1Patch("""{"spec":{"hard":{"requests.storage":"1536Mi"}}}""", V1Patch.PatchType.MergePatch), "storage", "default");
        var target = await WaitForObjectAsync("PersistentVolumeClaim", "disk", _ => true);
        var primeName = "prime-" + Text(target["metadata"]!["uid"]);
        var noPrime = await WaitForEventAsync("disk", "PersistentVolumeClaim", e => e.Reason == "ErrCreatingPVCPrime");
        Assert.Equal(
            ("Warning", Forbidden(primeName) + $"exceeded quota: storage, requested: requests.storage={TargetOf1Gi}, used: requests.storage={TargetOf1Gi}, limited: requests.storage=1536Mi", "import-populator"),
            (noPrime.Type, noPrime.Message, noPrime.Source.Component));
        Assert.Equal("Pending", Phase(await GetAsync("disk")));

        await Client.CoreV1.PatchNamespacedResourceQuotaAsync(new V1Patch("""{"spec":{"hard":{"requests.storage":"10Gi"}}}""", V1Patch.PatchType.MergePatch), "storage", "default");
        await WaitForPhaseAsync("disk", "Succeeded");
    }

    [Fact]
    public async Task A_scratch_PVC_refused_by_the_quota_holds_the_import_with_CDIs_events_until_the_quota_is_raised()
    {
        InstallCdiWithDefaultClass();
        AddQuota("storage", """{"requests.storage":"3Gi"}""");
        await CreateAsync(HttpDataVolume("disk"));

        var target = await WaitForObjectAsync("PersistentVolumeClaim", "disk", c => AnnotationOf(c, "cdi.kubevirt.io/storage.populator.pvcPrime") is not null);
        var primeName = AnnotationOf(target, "cdi.kubevirt.io/storage.populator.pvcPrime")!;
        var scratchName = primeName + "-scratch";
        var refusal = Forbidden(scratchName)
            + $"exceeded quota: storage, requested: requests.storage={ScratchOf1Gi}, used: requests.storage={2 * TargetOf1Gi}, limited: requests.storage=3Gi";

        // The importer's controller records the refusal on the PVC' and retries; the populator copies it to the target.
        var onPrime = await WaitForEventAsync(primeName, "PersistentVolumeClaim", e => e.Reason == "ErrExceededQuota" && e.Count >= 2);
        Assert.Equal(("Warning", refusal, "import-controller"), (onPrime.Type, onPrime.Message, onPrime.Source.Component));
        var onTarget = await WaitForEventAsync("disk", "PersistentVolumeClaim", e => e.Reason == "ErrExceededQuota");
        Assert.Equal(("Warning", $"[{primeName}] : {refusal}", "import-populator"), (onTarget.Type, onTarget.Message, onTarget.Source.Component));

        var held = await WaitForAsync("disk", dv => (string?)ConditionOf(dv, "Running")?["reason"] == "Unschedulable");
        Assert.Equal("ImportScheduled", Phase(held));
        Assert.Equal(("False", "Importer pod cannot be scheduled"), ((string?)ConditionOf(held, "Running")!["status"], (string?)ConditionOf(held, "Running")!["message"]));
        await EventuallyAsync(async () => (string?)ConditionOf(await GetAsync("disk"), "Bound")!["message"] == $"target PVC disk Pending and [{primeName}] : {refusal}");
        Assert.Contains(await EventsAboutAsync("disk"), e => (e.Type, e.Reason, e.Message) == ("Warning", "Unschedulable", "Importer pod cannot be scheduled"));

        var pod = Stored("Pod", "importer-" + primeName)!;
        var scheduling = $"0/1 nodes are available: persistentvolumeclaim \"{scratchName}\" not found.{Preemption}";
        var condition = (pod["status"]!["conditions"] as JsonArray)!.Single(c => Text(c!["type"]) == "PodScheduled")!;
        Assert.Equal(("Pending", "False", "Unschedulable", scheduling), (Text(pod["status"]!["phase"]), Text(condition["status"]), Text(condition["reason"]), Text(condition["message"])));
        var failedScheduling = await WaitForEventAsync("importer-" + primeName, "Pod", e => e.Reason == "FailedScheduling");
        Assert.Equal(("Warning", scheduling, "default-scheduler"), (failedScheduling.Type, failedScheduling.Message, failedScheduling.Source.Component));
        Assert.Equal("false", AnnotationOf(Stored("PersistentVolumeClaim", "disk"), "cdi.kubevirt.io/storage.pod.schedulable"));

        await Client.CoreV1.PatchNamespacedResourceQuotaAsync(new V1Patch("""{"spec":{"hard":{"requests.storage":"10Gi"}}}""", V1Patch.PatchType.MergePatch), "storage", "default");
        await WaitForPhaseAsync("disk", "Succeeded");

        // The PVC' and the scratch PVC gave their share back; the target keeps its own.
        Assert.Equal(TargetOf1Gi.ToString(CultureInfo.InvariantCulture), Text(Used("storage")!["requests.storage"]));
    }

    [Fact]
    public async Task A_scratch_PVC_refused_by_a_LimitRange_is_recorded_nowhere_but_on_the_pod_and_the_import_goes_on_once_it_is_gone()
    {
        InstallCdiWithDefaultClass("kubernetes.io/aws-ebs");
        AddLimitRange("cap", $$$"""[{"type":"PersistentVolumeClaim","max":{"storage":"{{{TargetOf1Gi + 100}}}"}}]""");
        await CreateAsync(HttpDataVolume("disk"));

        var held = await WaitForAsync("disk", dv => (string?)ConditionOf(dv, "Running")?["reason"] == "Unschedulable");
        Assert.Equal(("ImportScheduled", "True"), (Phase(held), (string?)ConditionOf(held, "Bound")!["status"]));
        var failedScheduling = await WaitForEventAsync("importer-disk", "Pod", e => e.Reason == "FailedScheduling");
        Assert.Equal($"0/1 nodes are available: persistentvolumeclaim \"disk-scratch\" not found.{Preemption}", failedScheduling.Message);
        Assert.DoesNotContain(await EventsAboutAsync("disk", kind: "PersistentVolumeClaim"), e => e.Type == "Warning");

        await Client.CoreV1.DeleteNamespacedLimitRangeAsync("cap", "default");
        await WaitForPhaseAsync("disk", "Succeeded");
        Assert.Null(Stored("PersistentVolumeClaim", "disk-scratch"));
        Assert.Null(Stored("Pod", "importer-disk"));
    }

    [Fact]
    public async Task A_DataVolume_without_a_class_waits_for_a_volume_for_its_target_and_another_for_its_scratch_PVC()
    {
        Server.InstallCdi();
        var dv = HttpDataVolume("disk");
        dv["spec"]!["storage"]!["accessModes"] = new JsonArray("ReadWriteOnce");
        dv["spec"]!["storage"]!["volumeMode"] = "Filesystem";
        await CreateAsync(dv);

        var pending = await WaitForAsync("disk", d => (string?)ConditionOf(d, "Bound")?["message"] != "PVC disk Pending" && Phase(d) == "Pending");
        Assert.Equal(("False", "Pending", "target PVC disk Pending and no persistent volumes available for this claim and no storage class is set"),
            ((string?)ConditionOf(pending, "Bound")!["status"], (string?)ConditionOf(pending, "Bound")!["reason"], (string?)ConditionOf(pending, "Bound")!["message"]));

        AddVolume("pv-one", "2Gi");
        var scheduled = await WaitForAsync("disk", d => (string?)ConditionOf(d, "Running")?["reason"] == "Unschedulable");
        Assert.Equal(("ImportScheduled", "pv-one"), (Phase(scheduled), Text(Stored("PersistentVolumeClaim", "disk")!["spec"]!["volumeName"])));
        var scratch = await WaitForEventAsync("disk-scratch", "PersistentVolumeClaim", e => e.Reason == "FailedBinding");
        Assert.Equal("no persistent volumes available for this claim and no storage class is set", scratch.Message);
        Assert.Null(Stored("PersistentVolumeClaim", "disk-scratch")!["spec"]!["storageClassName"]);
        var failedScheduling = await WaitForEventAsync("importer-disk", "Pod", e => e.Reason == "FailedScheduling");
        Assert.Equal($"0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.{Preemption}", failedScheduling.Message);

        AddVolume("pv-two", "2Gi");
        await WaitForPhaseAsync("disk", "Succeeded");
        await WaitForObjectAsync("PersistentVolume", "pv-two", v => Text(v["status"]?["phase"]) == "Released");
        Assert.Equal("Bound", Text(Stored("PersistentVolume", "pv-one")!["status"]!["phase"]));
    }

    [Fact]
    public async Task An_upload_waits_with_its_pod_Pending_while_the_scratch_class_cannot_provision()
    {
        InstallCdiWithScratchClass();
        Server.FailProvisioning("scratch.example.com", "out of space");
        await CreateAsync(DataVolume("upload"));

        var target = await WaitForObjectAsync("PersistentVolumeClaim", "upload", c => AnnotationOf(c, "cdi.kubevirt.io/storage.populator.pvcPrime") is not null);
        var primeName = AnnotationOf(target, "cdi.kubevirt.io/storage.populator.pvcPrime")!;
        var provisioning = await WaitForEventAsync(primeName + "-scratch", "PersistentVolumeClaim", e => e.Reason == "ProvisioningFailed");
        Assert.Equal("failed to provision volume with StorageClass \"scratchy\": out of space", provisioning.Message);
        var failedScheduling = await WaitForEventAsync("cdi-upload-" + primeName, "Pod", e => e.Reason == "FailedScheduling");
        Assert.Equal($"0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.{Preemption}", failedScheduling.Message);

        // Upload pods report nothing of their scheduling on the DataVolume (no AnnPodSchedulable).
        var waiting = await GetAsync("upload");
        Assert.Equal("UploadScheduled", Phase(waiting));
        Assert.Equal("""{"type":"Running","status":"False"}""", WithoutTimes(ConditionOf(waiting, "Running")!));
        Assert.Equal("false", AnnotationOf(Stored("PersistentVolumeClaim", primeName), "cdi.kubevirt.io/storage.pod.ready"));
        Assert.Equal("", AnnotationOf(Stored("PersistentVolumeClaim", primeName), "cdi.kubevirt.io/storage.upload.target"));

        Server.ClearProvisioningFailure("scratch.example.com");
        await WaitForPhaseAsync("upload", "UploadReady");
        Server.CompleteUpload("default", "upload");
        await WaitForPhaseAsync("upload", "Succeeded");

        // The upload populator drops the target's PVC' name once the upload is done.
        Assert.Null(AnnotationOf(Stored("PersistentVolumeClaim", "upload"), "cdi.kubevirt.io/storage.populator.pvcPrime"));
        Assert.Null(Stored("PersistentVolumeClaim", primeName + "-scratch"));
    }

    [Fact]
    public async Task A_scratch_class_that_waits_for_its_first_consumer_is_provisioned_for_the_importer_pod()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.AddStorageClass("lazy", "csi.example.com", volumeBindingMode: "WaitForFirstConsumer");
        Server.InstallCdi();
        Server.InstallHyperConverged("lazy");
        Server.FailImport("default", "disk", "Error", "Unable to process data: stream error");
        await CreateAsync(HttpDataVolume("disk"));
        await WaitForAsync("disk", dv => (int?)dv["status"]?["restartCount"] >= 1);

        var primeName = AnnotationOf(Stored("PersistentVolumeClaim", "disk"), "cdi.kubevirt.io/storage.populator.pvcPrime");
        var scratch = Stored("PersistentVolumeClaim", primeName + "-scratch")!;
        Assert.Equal(("lazy", "Bound"), (Text(scratch["spec"]!["storageClassName"]), Text(scratch["status"]!["phase"])));
        Assert.DoesNotContain(await EventsAboutAsync("disk"), e => e.Reason == "Unschedulable");
    }

    [Fact]
    public async Task Only_imports_that_need_scratch_space_get_a_scratch_PVC()
    {
        InstallCdiWithDefaultClass("kubernetes.io/aws-ebs");
        var node = WithSource(HttpDataVolume("node"), JsonNode.Parse("""{"registry":{"url":"docker://quay.io/containerdisks/fedora:41","pullMethod":"node"}}""")!.AsObject());
        var pulled = WithSource(HttpDataVolume("pulled"), JsonNode.Parse("""{"registry":{"url":"docker://quay.io/containerdisks/fedora:41"}}""")!.AsObject());
        foreach (var dv in new[] { node, pulled })
        {
            Server.FailImport("default", (string)dv["metadata"]!["name"]!, "Error", "Unable to process data: stream error");
            await CreateAsync(dv);
        }

        await WaitForAsync("node", dv => (int?)dv["status"]?["restartCount"] >= 1);
        await WaitForAsync("pulled", dv => (int?)dv["status"]?["restartCount"] >= 1);
        Assert.DoesNotContain((Stored("Pod", "importer-node")!["spec"]!["volumes"] as JsonArray)!, v => Text(v!["name"]) == "cdi-scratch-vol");
        Assert.Null(Stored("PersistentVolumeClaim", "node-scratch"));
        Assert.NotNull(Stored("PersistentVolumeClaim", "pulled-scratch"));

        await CreateAsync(WithSource(HttpDataVolume("empty"), new JsonObject { ["blank"] = new JsonObject() }));
        await WaitForPhaseAsync("empty", "Succeeded");
        Assert.Null(Stored("PersistentVolumeClaim", "empty-scratch"));
    }

    [Theory]
    [InlineData("v1.66.0", "disk.img", true)]
    [InlineData("v1.59.1", "disk.img", true)]
    [InlineData("v1.59.0", "disk.img", false)]
    [InlineData("v1.59.0", "disk.qcow2", true)]
    [InlineData("v1.56.0", "disk.qcow2", false)]
    [InlineData("v1.56.0", "disk.img.xz", true)]
    public async Task An_http_import_gets_a_scratch_PVC_by_the_installed_release_s_rules(string release, string file, bool scratch)
    {
        Server.AddStorageClass("standard", "kubernetes.io/aws-ebs", isDefault: true);
        Server.InstallCdi(release);
        var dataVolume = HttpDataVolume("disk");
        dataVolume["spec"]!["source"]!["http"]!["url"] = $"https://images.example.com/{file}";

        // A failing import keeps its pod, and its scratch PVC, while CDI retries.
        Server.FailImport("default", "disk", "Error", "Unable to process data: stream error");
        await CreateAsync(dataVolume);
        await WaitForAsync("disk", dv => (int?)dv["status"]?["restartCount"] >= 1);

        Assert.Equal(scratch, Stored("PersistentVolumeClaim", "disk-scratch") is not null);
    }

    [Fact]
    public async Task Deleting_a_DataVolume_mid_import_takes_the_PVC_prime_pod_and_scratch_PVC_with_it_and_gives_the_quota_back()
    {
        InstallCdiWithDefaultClass();
        AddQuota("storage", """{"requests.storage":"100Gi","persistentvolumeclaims":"10"}""", """{"requests.storage":"7Gi","persistentvolumeclaims":"3"}""");
        Server.FailImport("default", "disk", "Error", "Unable to process data: stream error");
        await CreateAsync(HttpDataVolume("disk"));
        await WaitForAsync("disk", dv => (int?)dv["status"]?["restartCount"] >= 1);
        Assert.Equal("6", Text(Used("storage")!["persistentvolumeclaims"]));

        // The PVC' and the scratch PVC have volumes; the target gets the PVC''s when population ends.
        Assert.Equal(2, Server.ListObjects("v1", "PersistentVolume").Count);

        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "disk");
        await EventuallyAsync(() => Task.FromResult(
            Server.ListObjects("v1", "PersistentVolumeClaim").Count == 0 && Server.ListObjects("v1", "Pod").Count == 0
            && Server.ListObjects("v1", "PersistentVolume").Count == 0));
        // Back to the seeded figures, but 7Gi reads 7516192768: a sum that is no whole number of KiB
        // is stored as a plain number, read back as a decimal quantity and kept in that form, as in Kubernetes.
        var used = Used("storage")!;
        Assert.Equal(("7516192768", "3"), (Text(used["requests.storage"]), Text(used["persistentvolumeclaims"])));
    }

    private static string ObjectName(JsonObject obj) => Text(obj["metadata"]!["name"])!;

    private static string WithoutTimes(JsonObject condition)
    {
        var copy = condition.DeepClone().AsObject();
        copy.Remove("lastTransitionTime");
        copy.Remove("lastHeartbeatTime");
        return copy.ToJsonString();
    }
}
