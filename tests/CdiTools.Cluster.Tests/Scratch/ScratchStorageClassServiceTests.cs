using System.Text.Json.Nodes;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Scratch;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Testing.FakeCluster;

namespace CdiTools.Cluster.Tests.Scratch;

/// <summary>
/// The scratch class service against the fake API server playing CDI's operator, HyperConverged's
/// operator and CDIConfig's status controller: every owner, missing and block-only classes,
/// conflicts, denials, waiting and both of CDI's fallback rule sets.
/// </summary>
public sealed class ScratchStorageClassServiceTests : FakeClusterHarness
{
    private ScratchStorageClassService Service()
    {
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{Guid.NewGuid():N}"));
        return new ScratchStorageClassService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))));
    }

    private void SeedClasses()
    {
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast");
        Server.AddStorageProfile("standard", ("ReadWriteOnce", "Filesystem"));
        Server.AddStorageProfile("fast", ("ReadWriteOnce", "Filesystem"), ("ReadWriteOnce", "Block"));
    }

    private string? CdiConfigStatus() => (string?)Server.GetObject("cdi.kubevirt.io/v1beta1", "CDIConfig", "config")!["status"]?["scratchSpaceStorageClass"];

    private string? CdiConfigSpec() => (string?)Server.GetObject("cdi.kubevirt.io/v1beta1", "CDIConfig", "config")!["spec"]?["scratchSpaceStorageClass"];

    private string? CdiCrSetting() => (string?)Server.GetObject("cdi.kubevirt.io/v1beta1", "CDI", "cdi")!["spec"]?["config"]?["scratchSpaceStorageClass"];

    private string? HcoSetting() => (string?)Server.GetObject("hco.kubevirt.io/v1beta1", "HyperConverged", "kubevirt-hyperconverged", "kubevirt-hyperconverged")!["spec"]?["scratchSpaceStorageClass"];

    private IReadOnlyList<FakeRequest> Patches() => [.. Server.Requests.Where(r => r.Method == "PATCH")];

    [Fact]
    public async Task With_HyperConverged_the_setting_goes_on_HyperConverged_and_flows_down_to_CDIConfig_status()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.InstallHyperConverged();
        var service = Service();

        var plan = await service.PlanAsync("fast", default);
        Assert.Equal(CdiConfigOwnerKind.HyperConverged, plan.Owner.Kind);
        Assert.Equal("kubevirt-hyperconverged", plan.Owner.Namespace);
        Assert.Contains("HyperConverged operator", plan.Owner.Reason);
        Assert.Equal("fast", plan.ExpectedStatus);
        await service.ApplyAsync(plan, default);
        var config = await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);

        Assert.Equal("fast", config.Status?.ScratchSpaceStorageClass);
        Assert.Equal("fast", HcoSetting());
        Assert.Equal("fast", CdiCrSetting());
        var patch = Assert.Single(Patches());
        Assert.Equal("/apis/hco.kubevirt.io/v1beta1/namespaces/kubevirt-hyperconverged/hyperconvergeds/kubevirt-hyperconverged", patch.Path);
        Assert.StartsWith("application/merge-patch+json", patch.ContentType);
        Assert.Equal("fast", (string?)JsonNode.Parse(patch.Body)!["spec"]!["scratchSpaceStorageClass"]);
    }

    [Fact]
    public async Task With_config_authority_the_setting_goes_on_the_CDI_resource_which_the_operator_copies_to_CDIConfig()
    {
        SeedClasses();
        Server.InstallCdi(configAuthority: true);
        var service = Service();

        var plan = await service.PlanAsync("fast", default);
        Assert.Equal(CdiConfigOwnerKind.CdiCustomResource, plan.Owner.Kind);
        Assert.Equal("spec.config.scratchSpaceStorageClass", plan.Owner.Field);
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);

        Assert.Equal("fast", CdiCrSetting());
        Assert.Equal("fast", CdiConfigSpec());
        Assert.Equal("fast", CdiConfigStatus());
        Assert.Equal("/apis/cdi.kubevirt.io/v1beta1/cdis/cdi", Assert.Single(Patches()).Path);
        var report = await service.DescribeAsync(null, null, default);
        Assert.Equal("fast", report.Configured);
        Assert.Equal("fast", report.Effective);
    }

    [Fact]
    public async Task Without_config_authority_older_CDI_takes_CDIConfig_spec_directly()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.26.1", configAuthority: false);
        var service = Service();

        var plan = await service.PlanAsync("fast", default);
        Assert.Equal(CdiConfigOwnerKind.CdiConfig, plan.Owner.Kind);
        Assert.Contains("no config authority", plan.Owner.Reason);
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);

        Assert.Equal("fast", CdiConfigSpec());
        Assert.Equal("fast", CdiConfigStatus());
        Assert.Null(CdiCrSetting());
        Assert.Equal("/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config", Assert.Single(Patches()).Path);
    }

    [Fact]
    public async Task A_direct_CDIConfig_edit_is_reverted_and_the_report_reads_the_owner_not_CDIConfig()
    {
        SeedClasses();
        Server.InstallCdi();
        var edited = Server.GetObject("cdi.kubevirt.io/v1beta1", "CDIConfig", "config")!;
        edited["spec"] = new JsonObject { ["scratchSpaceStorageClass"] = "fast" };
        Server.PutObject(edited);

        Assert.Null(CdiConfigSpec());
        var report = await Service().DescribeAsync(null, null, default);
        Assert.Null(report.Configured);
        Assert.Equal(CdiConfigOwnerKind.CdiCustomResource, report.Owner.Kind);
    }

    [Fact]
    public async Task Clearing_removes_the_field_from_the_owner()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.InstallHyperConverged(scratchSpaceStorageClass: "fast");
        Assert.Equal("fast", CdiConfigStatus());
        var service = Service();

        var plan = await service.PlanAsync(null, default);
        Assert.Null(plan.Class);
        Assert.Null(plan.ExpectedStatus);
        Assert.Contains("each DataVolume's own class", plan.Consequence);
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);

        Assert.Null(HcoSetting());
        Assert.Null(CdiCrSetting());
        Assert.Equal("", CdiConfigStatus());
        Assert.Contains("\"scratchSpaceStorageClass\":null", Assert.Single(Patches()).Body);
    }

    [Fact]
    public async Task A_missing_class_on_current_CDI_leaves_status_empty_and_the_plan_says_so()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.66.0");
        var service = Service();

        var plan = await service.PlanAsync("nope", default);
        Assert.False(plan.ClassExists);
        Assert.Null(plan.ExpectedStatus);
        Assert.Contains("There is no StorageClass 'nope'", plan.Consequence);
        Assert.Contains("do not fall back to the default class", plan.Consequence);

        // Forced through, CDI accepts the setting and ignores it: the wait is for "", which comes.
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);
        Assert.Equal("nope", CdiCrSetting());
        Assert.Equal("", CdiConfigStatus());

        var report = await service.DescribeAsync(null, null, default);
        Assert.Equal("nope", report.Configured);
        Assert.Null(report.Effective);
        Assert.Contains(report.Warnings, w => w.Contains("'nope' does not exist"));
    }

    [Fact]
    public async Task A_class_that_differs_only_in_case_is_missing_and_the_plan_names_the_one_meant()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.66.0");

        var plan = await Service().PlanAsync("Fast", default);

        Assert.False(plan.ClassExists);
        Assert.Contains("There is no StorageClass 'Fast'", plan.Consequence);
        Assert.EndsWith("StorageClass names are case-sensitive: did you mean 'fast'?", plan.Consequence);
    }

    [Fact]
    public async Task A_missing_class_before_v1_65_falls_back_to_the_default_class()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.60.3");
        var service = Service();

        var plan = await service.PlanAsync("nope", default);
        Assert.Equal("standard", plan.ExpectedStatus);
        Assert.Contains("the cluster's default class 'standard'", plan.Consequence);
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);
        Assert.Equal("standard", CdiConfigStatus());
    }

    [Fact]
    public async Task Clearing_on_CDI_before_v1_65_puts_the_default_class_in_status_and_the_wait_expects_it()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.64.2");
        var service = Service();
        await service.ApplyAsync(await service.PlanAsync("fast", default), default);
        await EventuallyAsync(() => Task.FromResult(CdiConfigStatus() == "fast"));

        var plan = await service.PlanAsync(null, default);
        await service.ApplyAsync(plan, default);
        await service.WaitAsync(plan, TimeSpan.FromSeconds(10), default);

        Assert.Equal("standard", plan.ExpectedStatus);
        Assert.Contains("the cluster's default class 'standard'", plan.Consequence);
        Assert.Null(CdiCrSetting());
        Assert.Equal("standard", CdiConfigStatus());
    }

    [Fact]
    public async Task The_report_lists_the_fallback_chain_of_the_cluster_s_CDI_version()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.64.0");
        var old = await Service().DescribeAsync(null, null, default);

        Assert.Equal("CDI before v1.65.0", old.Rules);
        Assert.Equal("v1.64.0", old.CdiVersion);
        Assert.Equal("standard", old.DefaultStorageClass);
        Assert.Equal(4, old.Resolution.Count);
        var deciding = Assert.Single(old.Resolution, s => s.Applies);
        Assert.Equal(2, deciding.Order);
        Assert.Equal("standard", deciding.Value);

        var cdi = Server.GetObject("cdi.kubevirt.io/v1beta1", "CDI", "cdi")!;
        cdi["status"]!["observedVersion"] = "v1.65.0";
        Server.PutObject(cdi);
        var current = await Service().DescribeAsync(null, null, default);

        Assert.Equal("CDI v1.65.0 and later", current.Rules);
        Assert.Equal(3, current.Resolution.Count);
        Assert.DoesNotContain(current.Resolution, s => s.Rule.Contains("default StorageClass (CDI before"));
        Assert.Equal("depends on each DataVolume", Assert.Single(current.Resolution, s => s.Applies).Value);
    }

    [Fact]
    public async Task For_a_DataVolume_the_report_names_the_class_its_scratch_PVC_gets()
    {
        SeedClasses();
        Server.InstallCdi(version: "v1.66.0");
        Server.AddNamespace("vms");
        var dataVolume = DataVolume("disk", "vms");
        dataVolume["spec"]!["storage"]!["storageClassName"] = "fast";
        Server.PutObject(dataVolume);
        var service = Service();

        var report = await service.DescribeAsync("disk", "vms", default);
        Assert.Equal("vms/disk", report.DataVolume);
        Assert.Equal("fast", report.ScratchClass);
        Assert.Equal("the DataVolume's own storage class", Assert.Single(report.Resolution, s => s.Applies).Rule);

        // A configured class that exists wins over the DataVolume's.
        await service.ApplyAsync(await service.PlanAsync("standard", default), default);
        var configured = await service.DescribeAsync("disk", "vms", default);
        Assert.Equal("standard", configured.ScratchClass);
        Assert.Equal(1, Assert.Single(configured.Resolution, s => s.Applies).Order);
    }

    [Fact]
    public async Task A_PVC_is_described_when_no_DataVolume_has_the_name_and_neither_is_an_error_with_an_id()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = "plain", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["storageClassName"] = "fast", ["accessModes"] = new JsonArray("ReadWriteOnce") },
        });
        var service = Service();

        Assert.Equal("fast", (await service.DescribeAsync("plain", null, default)).ScratchClass);
        var missing = await Assert.ThrowsAsync<ClusterException>(() => service.DescribeAsync("ghost", null, default));
        Assert.Equal("DataVolumeNotFound", missing.ErrorId);
        Assert.Equal(ClusterErrorKind.NotFound, missing.Kind);
        Assert.Contains("default/ghost", missing.Message);
    }

    [Fact]
    public async Task A_class_whose_profile_offers_only_Block_is_flagged()
    {
        SeedClasses();
        Server.AddStorageClass("raw-block");
        Server.AddStorageProfile("raw-block", ("ReadWriteMany", "Block"), ("ReadWriteOnce", "Block"));
        Server.InstallCdi();
        var service = Service();

        Assert.True((await service.PlanAsync("raw-block", default)).BlockOnly);
        Assert.False((await service.PlanAsync("fast", default)).BlockOnly);
        Assert.False((await service.PlanAsync("standard", default)).BlockOnly);

        await service.ApplyAsync(await service.PlanAsync("raw-block", default), default);
        var report = await service.DescribeAsync(null, null, default);
        Assert.Contains(report.Warnings, w => w.Contains("only Block volumes"));
    }

    [Fact]
    public async Task Conflicts_on_the_write_are_retried_with_a_fresh_read()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.InjectConflicts("cdis", 2);
        var service = Service();

        await service.ApplyAsync(await service.PlanAsync("fast", default), default);

        Assert.Equal([409, 409, 200], Patches().Select(p => p.Status));
        Assert.Equal("fast", CdiCrSetting());
        // Each retry planned afresh, so it read the owner again between the attempts.
        var gets = Server.Requests.Count(r => r.Method == "GET" && r.Path == "/apis/cdi.kubevirt.io/v1beta1/cdis");
        Assert.Equal(3, gets);
    }

    [Fact]
    public async Task Conflicts_that_never_end_give_up_with_the_server_s_message()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.InjectConflicts("cdis", 100);
        var service = Service();

        var error = await Assert.ThrowsAsync<ClusterException>(async () => await service.ApplyAsync(await service.PlanAsync("fast", default), default));

        Assert.Equal(ClusterErrorKind.Conflict, error.Kind);
        Assert.Equal(5, Patches().Count);
        Assert.Contains("patching CdiCustomResource cdi", error.Message);
        Assert.Null(CdiCrSetting());
    }

    [Fact]
    public async Task A_denied_patch_is_a_Forbidden_error_with_the_server_s_reason_and_changes_nothing()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.Deny("patch", "cdis");
        var service = Service();

        var error = await Assert.ThrowsAsync<ClusterException>(async () => await service.ApplyAsync(await service.PlanAsync("fast", default), default));

        Assert.Equal(ClusterErrorKind.Forbidden, error.Kind);
        Assert.Equal("Forbidden", error.ErrorId);
        Assert.Contains("(403)", error.Message);
        Assert.Contains("cannot patch resource \"cdis\"", error.Message);
        Assert.Single(Patches());
        Assert.Null(CdiCrSetting());
    }

    [Fact]
    public async Task Waiting_follows_a_slow_controller_to_the_end()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.ControllerDelay = TimeSpan.FromMilliseconds(600);
        var service = Service();

        var plan = await service.ApplyAsync(await service.PlanAsync("fast", default), default);
        Assert.NotEqual("fast", CdiConfigStatus());
        var config = await service.WaitAsync(plan, TimeSpan.FromSeconds(15), default);

        Assert.Equal("fast", config.Status?.ScratchSpaceStorageClass);
        Assert.Contains(Server.Requests, r => r.Method == "GET" && r.QueryValue("watch") == "true");
    }

    [Fact]
    public async Task Waiting_times_out_with_what_the_status_shows_when_CDI_never_applies_it()
    {
        SeedClasses();
        Server.InstallCdi();
        Server.ControllersRunning = false;
        var service = Service();

        var plan = await service.ApplyAsync(await service.PlanAsync("fast", default), default);
        var error = await Assert.ThrowsAsync<ClusterException>(() => service.WaitAsync(plan, TimeSpan.FromSeconds(1), default));

        Assert.Equal("ScratchClassNotApplied", error.ErrorId);
        Assert.Equal(ClusterErrorKind.Timeout, error.Kind);
        Assert.Contains("shows \"\", not 'fast'", error.Message);
        Assert.DoesNotContain("overwrote", error.Message);
    }

    [Fact]
    public async Task Waiting_explains_when_a_higher_owner_overwrote_the_setting()
    {
        SeedClasses();
        Server.InstallCdi();
        var service = Service();
        var plan = await service.PlanAsync("fast", default);
        Assert.Equal(CdiConfigOwnerKind.CdiCustomResource, plan.Owner.Kind);

        // HyperConverged arrives between planning and writing, and wins.
        Server.InstallHyperConverged(scratchSpaceStorageClass: "standard");
        await service.ApplyAsync(plan, default);
        var error = await Assert.ThrowsAsync<ClusterException>(() => service.WaitAsync(plan, TimeSpan.FromSeconds(1), default));

        Assert.Equal("ScratchClassNotApplied", error.ErrorId);
        Assert.Contains("shows 'standard', not 'fast'", error.Message);
        Assert.Contains("HyperConverged kubevirt-hyperconverged/kubevirt-hyperconverged is now 'standard'", error.Message);
        Assert.Contains("overwrote it", error.Message);
    }

    [Fact]
    public async Task A_class_marked_default_with_the_beta_annotation_is_the_default()
    {
        Server.AddStorageClass("fast");
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "storage.k8s.io/v1",
            ["kind"] = "StorageClass",
            ["metadata"] = new JsonObject
            {
                ["name"] = "legacy",
                ["annotations"] = new JsonObject { ["storageclass.beta.kubernetes.io/is-default-class"] = "true" },
            },
            ["provisioner"] = "example.com/csi",
        });
        Server.InstallCdi(version: "v1.60.0");

        var report = await Service().DescribeAsync(null, null, default);

        Assert.Equal("legacy", report.DefaultStorageClass);
        Assert.Equal("legacy", Assert.Single(report.Resolution, s => s.Applies).Value);
    }

    [Fact]
    public async Task A_cluster_without_CDI_is_an_error_that_says_so()
    {
        SeedClasses();
        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().DescribeAsync(null, null, default));
        Assert.Equal("CdiNotInstalled", error.ErrorId);
        Assert.Equal(ClusterErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task An_unparseable_CDI_version_is_warned_about_and_the_current_rules_assumed()
    {
        SeedClasses();
        Server.InstallCdi(version: "main-build");
        var report = await Service().DescribeAsync(null, null, default);

        Assert.Equal("CDI v1.65.0 and later", report.Rules);
        Assert.Contains(report.Warnings, w => w.Contains("'main-build' is not a release number"));
    }
}
