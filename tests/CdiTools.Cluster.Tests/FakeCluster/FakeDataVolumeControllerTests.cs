using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>The simulated DataVolume controller through the real client: phases, PVCs, conditions, events, scripted failures.</summary>
public sealed class FakeDataVolumeControllerTests : FakeDataVolumeHarness
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private void InstallCdiWithDefaultClass(string volumeBindingMode = "Immediate", string provisioner = "csi.example.com")
    {
        Server.AddStorageClass("standard", provisioner, isDefault: true, volumeBindingMode: volumeBindingMode);
        Server.InstallCdi();
    }

    [Fact]
    public async Task An_http_import_goes_Pending_ImportScheduled_ImportInProgress_Succeeded_as_a_watch_sees_it()
    {
        InstallCdiWithDefaultClass();
        var created = await CreateAsync(HttpDataVolume("disk"));
        Assert.Null(created["status"]);

        var statuses = await WatchStatusesAsync("disk", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "ImportScheduled", "ImportInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Equal(["N/A", "20.00%", "45.00%", "70.00%", "95.00%", "100.0%"], Distinct(statuses.Select(s => (string?)s["progress"])));
        Assert.All(statuses, s => Assert.Equal("disk", (string?)s["claimName"]));

        var running = statuses.First(s => (string?)s["phase"] == "ImportInProgress");
        Assert.Equal("""{"type":"Running","status":"True","reason":"Pod is running"}""", WithoutTimes(Condition(running, "Running")));
        Assert.Equal("""{"type":"Ready","status":"False","reason":"TransferRunning"}""", WithoutTimes(Condition(running, "Ready")));
        Assert.Equal("""{"type":"Bound","status":"False","reason":"Pending","message":"PVC disk Pending"}""", WithoutTimes(Condition(running, "Bound")));

        var done = await GetAsync("disk");
        Assert.Null(done["status"]!["restartCount"]);
        Assert.Equal("""{"type":"Bound","status":"True","reason":"Bound","message":"PVC disk Bound"}""", WithoutTimes(ConditionOf(done, "Bound")!));
        Assert.Equal("""{"type":"Ready","status":"True"}""", WithoutTimes(ConditionOf(done, "Ready")!));
        Assert.Equal("""{"type":"Running","status":"False","reason":"Completed","message":"Import Complete"}""", WithoutTimes(ConditionOf(done, "Running")!));
        Assert.Equal(["Bound", "Ready", "Running"], (done["status"]!["conditions"] as JsonArray)!.Select(c => (string?)c!["type"]));
        var bound = ConditionOf(done, "Bound")!;
        Assert.NotNull((string?)bound["lastTransitionTime"]);
        Assert.NotNull((string?)bound["lastHeartbeatTime"]);
        Assert.Equal("true", (string?)done["metadata"]!["annotations"]![DataVolumeAnnotations.UsePopulator]);
    }

    [Fact]
    public async Task Without_a_delay_every_step_is_still_a_write_of_its_own()
    {
        InstallCdiWithDefaultClass();
        Server.DataVolumeStepDelay = TimeSpan.Zero;
        var created = await CreateAsync(HttpDataVolume("quick"));
        var statuses = await WatchStatusesAsync("quick", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "ImportScheduled", "ImportInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Equal(8, statuses.Count);
    }

    [Fact]
    public async Task The_target_PVC_is_owned_by_the_DataVolume_and_sized_with_the_filesystem_overhead()
    {
        InstallCdiWithDefaultClass();
        var dv = await CreateAsync(HttpDataVolume("disk"));
        await WaitForPhaseAsync("disk", "Succeeded");

        var pvc = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("disk", "default");
        var owner = Assert.Single(pvc.Metadata.OwnerReferences);
        Assert.Equal(("cdi.kubevirt.io/v1beta1", "DataVolume", "disk", (string)dv["metadata"]!["uid"]!),
            (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid));
        Assert.True(owner.Controller);
        Assert.True(owner.BlockOwnerDeletion);
        Assert.Equal("standard", pvc.Spec.StorageClassName);
        Assert.Equal(["ReadWriteOnce"], pvc.Spec.AccessModes);
        Assert.Equal("Filesystem", pvc.Spec.VolumeMode);

        // 1 GiB rounded to 1 MiB and grown by CDIConfig's 6%: CDI's GetRequiredSpace.
        Assert.Equal(1138166334L, pvc.Spec.Resources.Requests["storage"].ToInt64());
        Assert.Equal("VolumeImportSource", pvc.Spec.DataSourceRef.Kind);
        Assert.Equal("Bound", pvc.Status.Phase);
        Assert.Equal("Succeeded", pvc.Metadata.Annotations["cdi.kubevirt.io/storage.pod.phase"]);
    }

    [Fact]
    public async Task The_pvc_API_takes_size_class_and_modes_as_given_and_a_storage_profile_fills_what_the_storage_API_leaves_out()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.AddStorageClass("fast", "fast.example.com");
        Server.AddStorageProfile("fast", ("ReadWriteMany", "Block"));
        Server.InstallCdi();

        var exact = HttpDataVolume("exact");
        exact["spec"]!.AsObject().Remove("storage");
        exact["spec"]!["pvc"] = JsonNode.Parse("""{"accessModes":["ReadWriteOnce"],"storageClassName":"fast","resources":{"requests":{"storage":"5Gi"}}}""");
        await CreateAsync(exact);
        var profiled = HttpDataVolume("profiled", size: "2Gi");
        profiled["spec"]!["storage"]!["storageClassName"] = "fast";
        await CreateAsync(profiled);
        await WaitForPhaseAsync("exact", "Succeeded");
        await WaitForPhaseAsync("profiled", "Succeeded");

        var exactClaim = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("exact", "default");
        Assert.Equal(("fast", "5Gi", "Filesystem"), (exactClaim.Spec.StorageClassName, exactClaim.Spec.Resources.Requests["storage"].ToString(), exactClaim.Spec.VolumeMode));
        var profiledClaim = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("profiled", "default");
        Assert.Equal(["ReadWriteMany"], profiledClaim.Spec.AccessModes);
        Assert.Equal("Block", profiledClaim.Spec.VolumeMode);
        Assert.Equal(2L << 30, profiledClaim.Spec.Resources.Requests["storage"].ToInt64());
    }

    [Fact]
    public async Task An_import_records_CDIs_events_on_the_DataVolume()
    {
        InstallCdiWithDefaultClass();
        await CreateAsync(HttpDataVolume("disk"));
        await WaitForPhaseAsync("disk", "Succeeded");

        var events = await EventsAboutAsync("disk");
        Assert.Equal(
            [
                ("Normal", "Pending", "PVC disk Pending"),
                ("Normal", "ImportScheduled", "Import into disk scheduled"),
                ("Normal", "ImportInProgress", "Import into disk in progress"),
                ("Normal", "ImportSucceeded", "Successfully imported into PVC disk"),
                ("Normal", "Bound", "PVC disk Bound"),
            ],
            events.Select(e => (e.Type, e.Reason, e.Message)));
        Assert.All(events, e =>
        {
            Assert.Equal("datavolume-import-controller", e.Source.Component);
            Assert.Equal("cdi.kubevirt.io/v1beta1", e.InvolvedObject.ApiVersion);
            Assert.Equal(1, e.Count);
        });
    }

    [Fact]
    public async Task The_older_flow_for_in_tree_storage_binds_the_PVC_first()
    {
        InstallCdiWithDefaultClass(provisioner: "kubernetes.io/aws-ebs");
        var created = await CreateAsync(HttpDataVolume("legacy"));
        var statuses = await WatchStatusesAsync("legacy", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "PVCBound", "ImportScheduled", "ImportInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Equal("True", (string?)Condition(statuses.First(s => (string?)s["phase"] == "ImportScheduled"), "Bound")["status"]);
        var pvc = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("legacy", "default");
        Assert.Null(pvc.Spec.DataSourceRef);
        Assert.Equal("false", (string?)(await GetAsync("legacy"))["metadata"]!["annotations"]![DataVolumeAnnotations.UsePopulator]);
    }

    [Fact]
    public async Task A_WaitForFirstConsumer_class_leaves_a_CSI_import_in_PendingPopulation_unless_immediate_binding_is_asked()
    {
        InstallCdiWithDefaultClass("WaitForFirstConsumer");
        await CreateAsync(HttpDataVolume("waiting"));
        await CreateAsync(WithAnnotation(HttpDataVolume("immediate"), "cdi.kubevirt.io/storage.bind.immediate.requested", ""));

        await WaitForPhaseAsync("immediate", "Succeeded");
        var waiting = await WaitForPhaseAsync("waiting", "PendingPopulation");
        await Task.Delay(300);
        waiting = await GetAsync("waiting");
        Assert.Equal("PendingPopulation", Phase(waiting));
        Assert.Equal("N/A", (string?)waiting["status"]!["progress"]);
        Assert.Equal("Pending", (string?)ConditionOf(waiting, "Bound")!["reason"]);
        Assert.Equal("Pending", (await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("waiting", "default")).Status.Phase);
    }

    [Fact]
    public async Task A_WaitForFirstConsumer_in_tree_class_shows_WaitForFirstConsumer()
    {
        InstallCdiWithDefaultClass("WaitForFirstConsumer", "kubernetes.io/no-provisioner");
        await CreateAsync(HttpDataVolume("local"));
        await WaitForPhaseAsync("local", "WaitForFirstConsumer");
        await Task.Delay(200);
        Assert.Equal("WaitForFirstConsumer", Phase(await GetAsync("local")));
    }

    [Fact]
    public async Task An_upload_waits_in_UploadReady_until_the_test_finishes_it()
    {
        InstallCdiWithDefaultClass();
        var created = await CreateAsync(DataVolume("upload"));
        var statuses = await WatchStatusesAsync("upload", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "UploadReady");
        Assert.Equal(["Pending", "UploadScheduled", "UploadReady"], Distinct(statuses.Select(s => (string?)s["phase"])));

        await Task.Delay(300);
        var ready = await GetAsync("upload");
        Assert.Equal("UploadReady", Phase(ready));
        Assert.Equal("N/A", (string?)ready["status"]!["progress"]);
        Assert.Equal("Pod is running", (string?)ConditionOf(ready, "Running")!["reason"]);
        var pvc = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("upload", "default");
        Assert.Equal("true", pvc.Metadata.Annotations["cdi.kubevirt.io/storage.pod.ready"]);
        Assert.Equal("VolumeUploadSource", pvc.Spec.DataSourceRef.Kind);

        Server.CompleteUpload("default", "upload");
        var done = await WaitForPhaseAsync("upload", "Succeeded");
        Assert.Equal("N/A", (string?)done["status"]!["progress"]);
        Assert.Equal("Upload Complete", (string?)ConditionOf(done, "Running")!["message"]);
        var events = await EventsAboutAsync("upload");
        Assert.Contains(events, e => e.Reason == "UploadReady" && e.Message == "Upload into upload ready" && e.Source.Component == "datavolume-upload-controller");
        Assert.Contains(events, e => e.Reason == "UploadSucceeded" && e.Message == "Successfully uploaded into upload");
    }

    [Fact]
    public async Task A_blank_image_is_done_after_it_is_scheduled()
    {
        InstallCdiWithDefaultClass();
        var created = await CreateAsync(WithSource(HttpDataVolume("empty"), new JsonObject { ["blank"] = new JsonObject() }));
        var statuses = await WatchStatusesAsync("empty", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "ImportScheduled", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Equal("100.0%", (string?)statuses[^1]["progress"]);
    }

    [Fact]
    public async Task A_clone_of_an_existing_PVC_goes_CloneScheduled_CloneInProgress_Succeeded_and_takes_the_source_size()
    {
        InstallCdiWithDefaultClass();
        await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "golden" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("3Gi") } },
            },
        }, "default");
        var clone = WithSource(HttpDataVolume("copy"), JsonNode.Parse("""{"pvc":{"namespace":"default","name":"golden"}}""")!.AsObject());
        clone["spec"]!["storage"]!.AsObject().Remove("resources");
        var created = await CreateAsync(clone);

        var statuses = await WatchStatusesAsync("copy", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "CloneScheduled", "CloneInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        var events = await EventsAboutAsync("copy");
        Assert.Contains(events, e => e.Reason == "CloneScheduled" && e.Message == "Cloning from default/golden into default/copy scheduled");
        Assert.Contains(events, e => e.Reason == "CloneSucceeded" && e.Message == "Successfully cloned from default/golden into default/copy");
        Assert.All(events, e => Assert.Equal("datavolume-pvc-clone-controller", e.Source.Component));
        Assert.Equal("3Gi", (await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("copy", "default")).Spec.Resources.Requests["storage"].ToString());
    }

    [Fact]
    public async Task A_clone_without_its_source_waits_with_CDIs_condition_and_goes_on_when_the_source_appears()
    {
        InstallCdiWithDefaultClass();
        await CreateAsync(WithSource(HttpDataVolume("copy"), JsonNode.Parse("""{"pvc":{"namespace":"default","name":"later"}}""")!.AsObject()));
        var waiting = await WaitForAsync("copy", dv => ConditionOf(dv, "Bound") is not null);
        await Task.Delay(200);
        waiting = await GetAsync("copy");
        Assert.Null(Phase(waiting));
        Assert.Equal("""{"type":"Bound","status":"False","reason":"CloneWithoutSource","message":"The source pvc later doesn't exist"}""", WithoutTimes(ConditionOf(waiting, "Bound")!));
        Assert.Equal("""{"type":"Ready","status":"False","reason":"CloneWithoutSource","message":"The source pvc later doesn't exist"}""", WithoutTimes(ConditionOf(waiting, "Ready")!));
        Assert.Contains(await EventsAboutAsync("copy"), e => e.Reason == "CloneWithoutSource" && e.Message == "The source pvc later doesn't exist");
        Assert.Empty((await Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default")).Items);

        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = "later", ["namespace"] = "default" },
            ["spec"] = JsonNode.Parse("""{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}"""),
        });
        await WaitForPhaseAsync("copy", "Succeeded");
    }

    [Fact]
    public async Task A_clone_of_a_snapshot_uses_CDIs_snapshot_phase_and_the_restore_size()
    {
        InstallCdiWithDefaultClass();
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "snapshot.storage.k8s.io/v1",
            ["kind"] = "VolumeSnapshot",
            ["metadata"] = new JsonObject { ["name"] = "snap", ["namespace"] = "default" },
            ["spec"] = JsonNode.Parse("""{"source":{"persistentVolumeClaimName":"gone"}}"""),
            ["status"] = JsonNode.Parse("""{"readyToUse":true,"restoreSize":"4Gi"}"""),
        });
        var clone = WithSource(HttpDataVolume("restored"), JsonNode.Parse("""{"snapshot":{"namespace":"default","name":"snap"}}""")!.AsObject());
        clone["spec"]!["storage"]!.AsObject().Remove("resources");
        var created = await CreateAsync(clone);
        var statuses = await WatchStatusesAsync("restored", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");
        Assert.Equal(["Pending", "CloneScheduled", "CloneFromSnapshotSourceInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Contains(await EventsAboutAsync("restored"), e => e.Message == "Creating PVC from snapshot source is in progress (for snapshot default/snap)");
        Assert.Equal("4Gi", (await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("restored", "default")).Spec.Resources.Requests["storage"].ToString());
    }

    [Fact]
    public async Task A_failing_importer_restarts_with_CDIs_condition_while_the_phase_stays_ImportInProgress()
    {
        InstallCdiWithDefaultClass();
        Server.FailImport("default", "flaky", "Error", "Unable to connect to http data source: expected status code 200, got 503. Status: 503 Service Unavailable");
        await CreateAsync(HttpDataVolume("flaky"));

        var failing = await WaitForAsync("flaky", dv => (int?)dv["status"]?["restartCount"] >= 3);
        Assert.Equal("ImportInProgress", Phase(failing));
        Assert.Equal(
            """{"type":"Running","status":"False","reason":"Error","message":"Unable to connect to http data source: expected status code 200, got 503. Status: 503 Service Unavailable"}""",
            WithoutTimes(ConditionOf(failing, "Running")!));

        // CDI warns once per new message, on the DataVolume; the PVC's event repeats with a count.
        var warnings = (await EventsAboutAsync("flaky")).Where(e => e.Type == "Warning").ToList();
        var warning = Assert.Single(warnings);
        Assert.Equal(("Error", "Unable to connect to http data source: expected status code 200, got 503. Status: 503 Service Unavailable"), (warning.Reason, warning.Message));
        var onClaim = Assert.Single(await EventsAboutAsync("flaky", kind: "PersistentVolumeClaim"), e => e.Reason == "ErrImportFailed");
        Assert.True(onClaim.Count >= 3);
        Assert.Equal("import-controller", onClaim.Source.Component);

        Server.ClearImportFailure("default", "flaky");
        var recovered = await WaitForPhaseAsync("flaky", "Succeeded");
        Assert.True((int)recovered["status"]!["restartCount"]! >= 3);
    }

    [Fact]
    public async Task An_importer_that_fails_a_given_number_of_times_then_succeeds()
    {
        InstallCdiWithDefaultClass();
        Server.FailImport("default", "twice", "Error", "Unable to process data: unexpected EOF", restarts: 2);
        var created = await CreateAsync(HttpDataVolume("twice"));
        var statuses = await WatchStatusesAsync("twice", (string)created["metadata"]!["resourceVersion"]!, dv => Phase(dv) == "Succeeded");

        Assert.Equal(["Pending", "ImportScheduled", "ImportInProgress", "Succeeded"], Distinct(statuses.Select(s => (string?)s["phase"])));
        Assert.Equal([null, "1", "2"], Distinct(statuses.Select(s => s["restartCount"]?.ToJsonString())));
        Assert.Equal(["True", "False", "True", "False"], Distinct(statuses.Where(s => (string?)s["phase"] != "Pending" && (string?)s["phase"] != "ImportScheduled")
            .Select(s => (string?)Condition(s, "Running")["status"])));
    }

    [Fact]
    public async Task A_PVC_too_small_for_the_image_shows_CDIs_short_message_on_the_condition_and_the_whole_one_on_the_PVC()
    {
        InstallCdiWithDefaultClass();
        Server.FailImport("default", "small", FakeImportFailure.TooSmall(10737418240, 1073741824));
        await CreateAsync(HttpDataVolume("small"));
        var failing = await WaitForAsync("small", dv => (int?)dv["status"]?["restartCount"] >= 1);

        Assert.Equal("ImportInProgress", Phase(failing));
        Assert.Equal("DataVolume too small to contain image", (string?)ConditionOf(failing, "Running")!["message"]);
        Assert.Equal("Error", (string?)ConditionOf(failing, "Running")!["reason"]);
        var onClaim = Assert.Single(await EventsAboutAsync("small", kind: "PersistentVolumeClaim"), e => e.Reason == "ErrImportFailed");
        Assert.Equal(
            "Unable to process data: Unable to convert source data to target format: virtual image size 10737418240 is larger than the reported available storage 1073741824. A larger PVC is required",
            onClaim.Message);
    }

    [Fact]
    public async Task A_checksum_mismatch_fails_the_DataVolume_without_restarts_as_CDI_treats_it_as_permanent()
    {
        InstallCdiWithDefaultClass();
        var expected = new string('a', 64);
        var calculated = new string('b', 64);
        Server.FailImport("default", "corrupt", FakeImportFailure.ChecksumMismatch("sha256", expected, calculated));
        await CreateAsync(HttpDataVolume("corrupt"));
        var failed = await WaitForPhaseAsync("corrupt", "Failed");

        var message = $"Unable to process data: Unable to transfer source data to target file: checksum validation failed: checksum mismatch: expected sha256:{expected}, calculated sha256:{calculated}";
        Assert.Null(failed["status"]!["restartCount"]);
        Assert.Equal(
            new JsonObject { ["type"] = "Running", ["status"] = "False", ["reason"] = "ChecksumError", ["message"] = message }.ToJsonString(),
            WithoutTimes(ConditionOf(failed, "Running")!));
        var events = await EventsAboutAsync("corrupt");
        Assert.Contains(events, e => (e.Type, e.Reason, e.Message) == ("Warning", "ImportFailed", "Failed to import into PVC corrupt"));
        Assert.Contains(events, e => (e.Type, e.Reason, e.Message) == ("Warning", "ChecksumError", message));
        await Task.Delay(200);
        Assert.Equal("Failed", Phase(await GetAsync("corrupt")));
    }

    [Fact]
    public async Task A_failure_scripted_while_the_import_runs_takes_effect_at_the_next_step()
    {
        InstallCdiWithDefaultClass();
        Server.DataVolumeStepDelay = TimeSpan.FromMilliseconds(150);
        await CreateAsync(HttpDataVolume("late"));
        await WaitForPhaseAsync("late", "ImportInProgress");
        Server.FailImport("default", "late", "Error", "Unable to process data: stream error");
        var failing = await WaitForAsync("late", dv => (int?)dv["status"]?["restartCount"] >= 1);
        Assert.Equal("ImportInProgress", Phase(failing));
        Assert.Equal("False", (string?)ConditionOf(failing, "Running")!["status"]);
    }

    [Fact]
    public async Task An_archive_for_a_Block_volume_is_refused_by_the_controller_as_CDI_does()
    {
        InstallCdiWithDefaultClass();
        var archive = HttpDataVolume("archive");
        archive["spec"]!["contentType"] = "archive";
        archive["spec"]!["storage"]!["volumeMode"] = "Block";
        await CreateAsync(archive);

        var refused = await WaitForAsync("archive", dv => ConditionOf(dv, "Bound") is not null);
        Assert.Null(Phase(refused));
        Assert.Equal("""{"type":"Bound","status":"False","reason":"ErrClaimNotValid","message":"ContentType Archive cannot have block volumeMode"}""", WithoutTimes(ConditionOf(refused, "Bound")!));
        Assert.Contains(await EventsAboutAsync("archive"), e => (e.Type, e.Reason, e.Message) == ("Warning", "ErrClaimNotValid", "ContentType Archive cannot have block volumeMode"));
        Assert.Empty((await Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default")).Items);

        // spec.pvc is copied as given, unchecked, so CDI goes ahead with it.
        var asGiven = HttpDataVolume("as-given");
        asGiven["spec"]!.AsObject().Remove("storage");
        asGiven["spec"]!["contentType"] = "archive";
        asGiven["spec"]!["pvc"] = JsonNode.Parse("""{"accessModes":["ReadWriteOnce"],"volumeMode":"Block","resources":{"requests":{"storage":"1Gi"}}}""");
        await CreateAsync(asGiven);
        await WaitForPhaseAsync("as-given", "Succeeded");
    }

    [Fact]
    public async Task DataVolumes_seeded_with_a_status_are_left_as_they_are()
    {
        InstallCdiWithDefaultClass();
        var seeded = HttpDataVolume("old");
        seeded["status"] = JsonNode.Parse("""{"phase":"Succeeded","progress":"100.0%"}""");
        Server.PutObject(seeded);
        await Task.Delay(200);
        Assert.Equal("""{"phase":"Succeeded","progress":"100.0%"}""", (await GetAsync("old"))["status"]!.ToJsonString());
        Assert.Empty((await Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default")).Items);
    }

    [Fact]
    public async Task Paused_controllers_leave_a_DataVolume_untouched_and_ReconcileNow_catches_up()
    {
        InstallCdiWithDefaultClass();
        Server.ControllersRunning = false;
        Server.DataVolumeStepDelay = TimeSpan.Zero;
        await CreateAsync(HttpDataVolume("paused"));
        await Task.Delay(200);
        Assert.Null((await GetAsync("paused"))["status"]);

        Server.ControllersRunning = true;
        Server.ReconcileNow();
        Assert.Equal("Succeeded", Phase(await GetAsync("paused")));
    }

    [Fact]
    public async Task A_scenario_scripts_the_step_delay_failures_and_finished_uploads()
    {
        var scenario = FakeClusterScenario.Parse("""
            {
              "namespaces": ["images"],
              "storageClasses": [{ "name": "standard", "provisioner": "csi.example.com", "default": true }],
              "cdi": {},
              "dataVolumeStepDelayMilliseconds": 5,
              "importFailures": [
                { "namespace": "images", "name": "small", "tooSmall": { "virtualSize": 2147483648, "availableSize": 1073741824 } },
                { "namespace": "images", "name": "flaky", "message": "Unable to process data: boom", "restarts": 1 }
              ],
              "completeUploads": [{ "namespace": "images", "name": "uploaded" }]
            }
            """);
        scenario.ApplyTo(Server);
        Assert.Equal(TimeSpan.FromMilliseconds(5), Server.DataVolumeStepDelay);

        await CreateInAsync(HttpDataVolume("small", "images"), "images");
        await CreateInAsync(HttpDataVolume("flaky", "images"), "images");
        await CreateInAsync(DataVolume("uploaded", "images"), "images");

        var small = await WaitForAsync("small", dv => (int?)dv["status"]?["restartCount"] >= 2, "images");
        Assert.Equal("DataVolume too small to contain image", (string?)ConditionOf(small, "Running")!["message"]);
        var flaky = await WaitForPhaseAsync("flaky", "Succeeded", "images");
        Assert.Equal(1, (int)flaky["status"]!["restartCount"]!);
        await WaitForPhaseAsync("uploaded", "Succeeded", "images");
    }

    [Fact]
    public async Task A_scenario_failure_needs_exactly_one_kind_of_message()
    {
        var scenario = FakeClusterScenario.Parse("""{ "importFailures": [{ "name": "x" }] }""");
        var error = Assert.Throws<InvalidDataException>(() => scenario.ApplyTo(Server));
        Assert.Contains("default/x", error.Message);
        await Task.CompletedTask;
    }

    private static JsonObject Condition(JsonObject status, string type) =>
        (status["conditions"] as JsonArray)!.OfType<JsonObject>().First(c => (string?)c["type"] == type);

    /// <summary>A condition without its timestamps, which differ run to run.</summary>
    private static string WithoutTimes(JsonObject condition)
    {
        var copy = condition.DeepClone().AsObject();
        copy.Remove("lastTransitionTime");
        copy.Remove("lastHeartbeatTime");
        return copy.ToJsonString(Readable);
    }
}

/// <summary>CDI's annotation names the tests read.</summary>
internal static class DataVolumeAnnotations
{
    public const string UsePopulator = "cdi.kubevirt.io/storage.usePopulator";
}
