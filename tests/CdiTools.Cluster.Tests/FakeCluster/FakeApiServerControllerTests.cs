using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>The simulated CDI and HyperConverged controllers, seen through the client.</summary>
public sealed class FakeApiServerControllerTests : FakeClusterHarness
{
    private Task<object> PatchAsync(string plural, string name, string patch) =>
        Client.CustomObjects.PatchClusterCustomObjectAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), Cdi, V1Beta1, plural, name);

    private async Task<string?> ConfiguredScratchAsync() => (string?)(await GetCdiConfigAsync())["spec"]!["scratchSpaceStorageClass"];

    private async Task<string?> EffectiveScratchAsync() => (string?)(await GetCdiConfigAsync())["status"]!["scratchSpaceStorageClass"];

    [Fact]
    public async Task The_CDI_operator_copies_the_CR_config_into_CDIConfig_and_reverts_direct_edits()
    {
        Server.AddStorageClass("fast");
        Server.InstallCdi();
        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"fast","featureGates":["X"]}}}""");
        var config = await GetCdiConfigAsync();
        Assert.Equal("""{"scratchSpaceStorageClass":"fast","featureGates":["X"]}""", config["spec"]!.ToJsonString());
        Assert.Equal("fast", (string?)config["status"]!["scratchSpaceStorageClass"]);

        // The direct edit is accepted, then reconciled away.
        var edited = Node(await PatchAsync("cdiconfigs", "config", """{"spec":{"scratchSpaceStorageClass":"other"}}"""));
        Assert.Equal("other", (string?)edited["spec"]!["scratchSpaceStorageClass"]);
        Assert.Equal("fast", await ConfiguredScratchAsync());

        await PatchAsync("cdis", "cdi", """{"spec":{"config":null}}""");
        Assert.Equal("{}", (await GetCdiConfigAsync())["spec"]!.ToJsonString());
        Assert.Equal("", await EffectiveScratchAsync());
    }

    [Fact]
    public async Task Without_the_configAuthority_annotation_CDIConfig_spec_is_the_users()
    {
        Server.AddStorageClass("fast");
        Server.InstallCdi(configAuthority: false);
        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"ignored"}}}""");
        Assert.Null(await ConfiguredScratchAsync());

        await PatchAsync("cdiconfigs", "config", """{"spec":{"scratchSpaceStorageClass":"fast"}}""");
        Assert.Equal("fast", await ConfiguredScratchAsync());
        Assert.Equal("fast", await EffectiveScratchAsync());
    }

    [Theory]
    [InlineData("v1.64.3", "standard")]
    [InlineData("v1.65.0", "")]
    [InlineData("v1.66.0", "")]
    public async Task Status_falls_back_to_the_default_class_only_before_v1_65(string version, string expected)
    {
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast");
        Server.InstallCdi(version);
        Assert.Equal(expected, await EffectiveScratchAsync());

        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"missing"}}}""");
        Assert.Equal(expected, await EffectiveScratchAsync());

        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"fast"}}}""");
        Assert.Equal("fast", await EffectiveScratchAsync());
    }

    [Fact]
    public async Task Status_follows_storage_classes_coming_and_going()
    {
        Server.InstallCdi("v1.66.0");
        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"late"}}}""");
        Assert.Equal("", await EffectiveScratchAsync());

        await Client.StorageV1.CreateStorageClassAsync(new V1StorageClass { Metadata = new V1ObjectMeta { Name = "late" }, Provisioner = "example.com/csi" });
        Assert.Equal("late", await EffectiveScratchAsync());

        await Client.StorageV1.DeleteStorageClassAsync("late");
        Assert.Equal("", await EffectiveScratchAsync());
    }

    [Fact]
    public async Task HyperConverged_owns_the_scratch_class_on_the_CDI_CR()
    {
        Server.AddStorageClass("fast");
        Server.AddStorageClass("slow");
        Server.InstallCdi();
        Server.InstallHyperConverged("fast");
        async Task<string?> OnCr() => (string?)(await GetCdiAsync())["spec"]!["config"]?["scratchSpaceStorageClass"];

        Assert.Equal("fast", await OnCr());
        Assert.Equal("fast", await ConfiguredScratchAsync());
        Assert.Equal("fast", await EffectiveScratchAsync());

        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"slow"}}}""");
        Assert.Equal("fast", await OnCr());
        Assert.Equal("fast", await ConfiguredScratchAsync());

        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"scratchSpaceStorageClass":"slow"}}""", V1Patch.PatchType.MergePatch),
            "hco.kubevirt.io", V1Beta1, "kubevirt-hyperconverged", "hyperconvergeds", "kubevirt-hyperconverged");
        Assert.Equal("slow", await OnCr());
        Assert.Equal("slow", await EffectiveScratchAsync());

        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"scratchSpaceStorageClass":null}}""", V1Patch.PatchType.MergePatch),
            "hco.kubevirt.io", V1Beta1, "kubevirt-hyperconverged", "hyperconvergeds", "kubevirt-hyperconverged");
        Assert.Null(await OnCr());
        Assert.Equal("", await EffectiveScratchAsync());
    }

    [Fact]
    public async Task Paused_controllers_change_nothing_until_they_run_again()
    {
        Server.AddStorageClass("fast");
        Server.InstallCdi();
        Server.ControllersRunning = false;
        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"fast"}}}""");
        Assert.Null(await ConfiguredScratchAsync());
        Assert.Equal("", await EffectiveScratchAsync());

        Server.ControllersRunning = true;
        Assert.Equal("fast", await ConfiguredScratchAsync());
        Assert.Equal("fast", await EffectiveScratchAsync());
    }

    [Fact]
    public async Task Delayed_controllers_react_after_the_delay()
    {
        Server.AddStorageClass("fast");
        Server.InstallCdi();
        Server.ControllerDelay = TimeSpan.FromMilliseconds(300);
        await PatchAsync("cdis", "cdi", """{"spec":{"config":{"scratchSpaceStorageClass":"fast"}}}""");
        Assert.Null(await ConfiguredScratchAsync());
        await EventuallyAsync(async () => await EffectiveScratchAsync() == "fast");
        Assert.Equal("fast", await ConfiguredScratchAsync());
    }
}

/// <summary>Controllers left out one at a time.</summary>
public sealed class FakeApiServerControllerSelectionTests : FakeClusterHarness
{
    protected override FakeClusterOptions Options => new() { Controllers = FakeControllers.CdiConfigStatus };

    [Fact]
    public async Task Only_the_enabled_controllers_run()
    {
        Server.AddStorageClass("fast");
        Server.InstallCdi();
        Server.InstallHyperConverged("fast");
        Assert.Null((await GetCdiAsync())["spec"]!["config"]);

        await Client.CustomObjects.PatchClusterCustomObjectAsync(
            new V1Patch("""{"spec":{"scratchSpaceStorageClass":"fast"}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "cdiconfigs", "config");
        var config = await GetCdiConfigAsync();
        Assert.Equal("fast", (string?)config["spec"]!["scratchSpaceStorageClass"]);
        Assert.Equal("fast", (string?)config["status"]!["scratchSpaceStorageClass"]);
        Assert.Equal("cdi-uploadproxy.cdi.svc", (string?)config["status"]!["uploadProxyURL"]);
        Assert.Equal("0.06", (string?)config["status"]!["filesystemOverhead"]!["global"]);
    }

    [Fact]
    public void Seeded_objects_are_stamped_like_written_ones()
    {
        Server.AddStorageProfile("fast", ("ReadWriteOnce", "Block"), ("ReadWriteMany", "Filesystem"));
        var profile = Server.GetObject("cdi.kubevirt.io/v1beta1", "StorageProfile", "fast")!;
        Assert.False(string.IsNullOrEmpty((string?)profile["metadata"]!["uid"]));
        Assert.Equal(1, (int)profile["metadata"]!["generation"]!);
        Assert.Equal("""[{"accessModes":["ReadWriteOnce"],"volumeMode":"Block"},{"accessModes":["ReadWriteMany"],"volumeMode":"Filesystem"}]""",
            profile["status"]!["claimPropertySets"]!.ToJsonString());
        var before = Server.ResourceVersion;
        Server.PutObject(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "seed" } });
        Assert.Equal(before + 1, Server.ResourceVersion);
        Assert.Equal("default", (string?)Server.GetObject("v1", "ConfigMap", "seed")!["metadata"]!["namespace"]);
    }
}
