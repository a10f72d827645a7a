using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>The garbage collector: dependents named by ownerReferences go with their owners.</summary>
public sealed class FakeGarbageCollectionTests : FakeDataVolumeHarness
{
    private async Task<V1ConfigMap> OwnerAsync(string name = "owner") =>
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name } }, "default");

    private static V1OwnerReference Reference(V1ConfigMap owner) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Name = owner.Metadata.Name,
        Uid = owner.Metadata.Uid,
    };

    private Task<V1Secret> SecretAsync(string name, params V1ConfigMap[] owners) =>
        Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name, OwnerReferences = [.. owners.Select(Reference)] },
            StringData = new Dictionary<string, string> { ["k"] = "v" },
        }, "default");

    private bool Exists(string apiVersion, string kind, string name) => Server.GetObject(apiVersion, kind, name) is not null;

    [Fact]
    public async Task Deleting_a_DataVolume_deletes_its_PVC()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.InstallCdi();
        await CreateAsync(HttpDataVolume("disk"));
        await WaitForPhaseAsync("disk", "Succeeded");
        Assert.True(Exists("v1", "PersistentVolumeClaim", "disk"));

        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "disk");
        await EventuallyAsync(() => Task.FromResult(!Exists("v1", "PersistentVolumeClaim", "disk")));
    }

    [Fact]
    public async Task Secrets_ConfigMaps_PVCs_and_DataVolumes_go_with_their_owner_and_so_do_theirs()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.InstallCdi();
        var owner = await OwnerAsync();
        await SecretAsync("secret", owner);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "config", OwnerReferences = [Reference(owner)] } }, "default");
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject
            {
                ["name"] = "claim",
                ["namespace"] = "default",
                ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "owner", ["uid"] = owner.Metadata.Uid }),
            },
            ["spec"] = JsonNode.Parse("""{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}"""),
        });
        var dataVolume = HttpDataVolume("disk");
        dataVolume["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "owner", ["uid"] = owner.Metadata.Uid });
        await CreateAsync(dataVolume);
        await WaitForPhaseAsync("disk", "Succeeded");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default");
        await EventuallyAsync(() => Task.FromResult(
            !Exists("v1", "Secret", "secret") && !Exists("v1", "ConfigMap", "config") && !Exists("v1", "PersistentVolumeClaim", "claim")
            && !Exists("cdi.kubevirt.io/v1beta1", "DataVolume", "disk") && !Exists("v1", "PersistentVolumeClaim", "disk")));
    }

    [Fact]
    public async Task A_dependent_with_another_owner_stays_and_loses_only_the_reference_to_the_one_gone()
    {
        var first = await OwnerAsync("first");
        var second = await OwnerAsync("second");
        await SecretAsync("shared", first, second);

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("first", "default");
        await EventuallyAsync(() => Task.FromResult(Server.GetObject("v1", "Secret", "shared")?["metadata"]?["ownerReferences"]?.AsArray().Count == 1));
        var shared = await Client.CoreV1.ReadNamespacedSecretAsync("shared", "default");
        Assert.Equal("second", Assert.Single(shared.Metadata.OwnerReferences).Name);

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("second", "default");
        await EventuallyAsync(() => Task.FromResult(!Exists("v1", "Secret", "shared")));
    }

    [Fact]
    public async Task Orphaning_keeps_the_dependents_without_the_reference()
    {
        var owner = await OwnerAsync();
        await SecretAsync("kept", owner);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default", new V1DeleteOptions { PropagationPolicy = "Orphan" });

        Assert.False(Exists("v1", "ConfigMap", "owner"));
        await Task.Delay(200);
        var kept = await Client.CoreV1.ReadNamespacedSecretAsync("kept", "default");
        Assert.Null(kept.Metadata.OwnerReferences);
    }

    [Fact]
    public async Task Foreground_deletion_keeps_the_owner_until_its_dependents_are_gone()
    {
        var owner = await OwnerAsync();
        await SecretAsync("held", owner);
        await Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"finalizers":["example.com/hold"]}}""", V1Patch.PatchType.MergePatch), "held", "default");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default", new V1DeleteOptions { PropagationPolicy = "Foreground" });
        await EventuallyAsync(() => Task.FromResult(Server.GetObject("v1", "Secret", "held")?["metadata"]?["deletionTimestamp"] is not null));
        var parked = await Client.CoreV1.ReadNamespacedConfigMapAsync("owner", "default");
        Assert.NotNull(parked.Metadata.DeletionTimestamp);
        Assert.Contains("foregroundDeletion", parked.Metadata.Finalizers);

        await Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "held", "default");
        await EventuallyAsync(() => Task.FromResult(!Exists("v1", "ConfigMap", "owner") && !Exists("v1", "Secret", "held")));
    }

    [Fact]
    public async Task A_watch_sees_the_owner_deleted_then_the_dependent()
    {
        var owner = await OwnerAsync();
        var secret = await SecretAsync("dependent", owner);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<(string Kind, string Name)>();
        var configMaps = Client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: secret.Metadata.ResourceVersion, cancellationToken: cancel.Token);
        var secrets = Client.CoreV1.WatchListNamespacedSecretAsync("default", resourceVersion: secret.Metadata.ResourceVersion, cancellationToken: cancel.Token);
        var watching = Task.WhenAll(
            Task.Run(async () =>
            {
                await foreach (var (type, item) in configMaps)
                {
                    Assert.Equal(WatchEventType.Deleted, type);
                    lock (seen)
                    {
                        seen.Add(("ConfigMap", item.Metadata.Name));
                    }

                    break;
                }
            }),
            Task.Run(async () =>
            {
                await foreach (var (type, item) in secrets)
                {
                    Assert.Equal(WatchEventType.Deleted, type);
                    lock (seen)
                    {
                        seen.Add(("Secret", item.Metadata.Name));
                    }

                    break;
                }
            }));
        await Task.Delay(200);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default");
        await watching;
        Assert.Equal([("ConfigMap", "owner"), ("Secret", "dependent")], seen.OrderBy(s => s.Kind, StringComparer.Ordinal));

        // The collector deletes behind the API: the client sent one DELETE.
        Assert.Single(Server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Deleting_a_DataVolume_while_its_import_runs_stops_the_controller_and_removes_the_PVC()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.InstallCdi();
        Server.DataVolumeStepDelay = TimeSpan.FromMilliseconds(100);
        await CreateAsync(HttpDataVolume("busy"));
        await WaitForPhaseAsync("busy", "ImportInProgress");
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "busy");
        await EventuallyAsync(() => Task.FromResult(!Exists("v1", "PersistentVolumeClaim", "busy")));
        await Task.Delay(300);
        Assert.False(Exists("cdi.kubevirt.io/v1beta1", "DataVolume", "busy"));
        Assert.False(Exists("v1", "PersistentVolumeClaim", "busy"));
    }
}

/// <summary>Without the garbage collector, dependents outlive their owners, as on a cluster whose controller manager is down.</summary>
public sealed class FakeGarbageCollectionOffTests : FakeClusterHarness
{
    protected override FakeClusterOptions Options => new() { Controllers = FakeControllers.All & ~FakeControllers.GarbageCollector };

    [Fact]
    public async Task Dependents_stay_when_the_collector_does_not_run()
    {
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, "default");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "dependent",
                OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid }],
            },
        }, "default");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default");
        await Task.Delay(200);
        Server.ReconcileNow();
        Assert.NotNull(Server.GetObject("v1", "Secret", "dependent"));
    }
}
