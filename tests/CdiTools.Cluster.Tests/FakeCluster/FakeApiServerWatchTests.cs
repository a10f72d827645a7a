using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>Watches through the client's own watch support, as CdiTools waits on DataVolumes.</summary>
public sealed class FakeApiServerWatchTests : FakeClusterHarness
{
    protected override CdiTools.Testing.FakeCluster.FakeClusterOptions Options => new() { Controllers = CdiTools.Testing.FakeCluster.FakeControllers.None };

    private Task<object> PatchDataVolumeStatusAsync(string name, string phase) =>
        Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch($$$"""{"status":{"phase":"{{{phase}}}"}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "default", "datavolumes", name);

    [Fact]
    public async Task A_list_watch_gets_the_current_objects_then_the_changes_a_patch_makes()
    {
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("one"), Cdi, V1Beta1, "default", "datavolumes");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<(WatchEventType Type, string Name, string? Phase)>();
        var response = Client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
            Cdi, V1Beta1, "default", "datavolumes", watch: true, cancellationToken: cancel.Token);

        // The list-then-WatchAsync form is marked obsolete in favour of WatchList*Async, but code
        // written against older clients uses it, so the fake must serve it too.
#pragma warning disable CS0618
        var events = response.WatchAsync<object, object>(cancellationToken: cancel.Token);
#pragma warning restore CS0618
        await foreach (var (type, item) in events)
        {
            var obj = Node(item);
            seen.Add((type, (string)obj["metadata"]!["name"]!, (string?)obj["status"]?["phase"]));
            if (seen.Count == 1)
            {
                await Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("two"), Cdi, V1Beta1, "default", "datavolumes");
                await PatchDataVolumeStatusAsync("one", "ImportInProgress");
                await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "two");
            }

            if (seen.Count == 4)
            {
                break;
            }
        }

        Assert.Equal(
            [(WatchEventType.Added, "one", null), (WatchEventType.Added, "two", null), (WatchEventType.Modified, "one", "ImportInProgress"), (WatchEventType.Deleted, "two", null)],
            seen);
    }

    [Fact]
    public async Task A_single_object_watch_from_a_resourceVersion_gets_only_later_changes_to_that_object()
    {
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("mine"), Cdi, V1Beta1, "default", "datavolumes");
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("other"), Cdi, V1Beta1, "default", "datavolumes");
        await PatchDataVolumeStatusAsync("mine", "Pending");
        var start = (string)Node(await Client.CustomObjects.GetNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "mine"))["metadata"]!["resourceVersion"]!;
        await PatchDataVolumeStatusAsync("mine", "ImportScheduled");
        await PatchDataVolumeStatusAsync("other", "Failed");

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var phases = new List<string?>();
        var watch = Client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            Cdi, V1Beta1, "default", "datavolumes", fieldSelector: "metadata.name=mine", resourceVersion: start, cancellationToken: cancel.Token);
        await foreach (var (type, item) in watch)
        {
            Assert.Equal(WatchEventType.Modified, type);
            var obj = Node(item);
            Assert.Equal("mine", (string?)obj["metadata"]!["name"]);
            phases.Add((string?)obj["status"]!["phase"]);
            if (phases.Count == 1)
            {
                await PatchDataVolumeStatusAsync("other", "Succeeded");
                await PatchDataVolumeStatusAsync("mine", "Succeeded");
            }
            else
            {
                break;
            }
        }

        Assert.Equal(["ImportScheduled", "Succeeded"], phases);
        var watchRequest = Server.Requests.Single(r => r.QueryValue("watch") == "true");
        Assert.Equal(start, watchRequest.QueryValue("resourceVersion"));
    }

    [Fact]
    public async Task A_label_selector_watch_sees_objects_move_in_and_out_as_added_and_deleted()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, "default");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<WatchEventType>();
        var watch = Client.CoreV1.WatchListNamespacedConfigMapAsync("default", labelSelector: "watched=yes", cancellationToken: cancel.Token);
        var label = Task.Run(async () =>
        {
            await Task.Delay(200);
            await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"watched":"yes"}}}""", V1Patch.PatchType.MergePatch), "cm", "default");
        });
        await foreach (var (type, item) in watch)
        {
            Assert.Equal("cm", item.Metadata.Name);
            seen.Add(type);
            if (seen.Count == 1)
            {
                await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"watched":"no"}}}""", V1Patch.PatchType.MergePatch), "cm", "default");
            }
            else
            {
                break;
            }
        }

        await label;
        Assert.Equal([WatchEventType.Added, WatchEventType.Deleted], seen);
    }

    [Fact]
    public async Task TimeoutSeconds_ends_the_stream()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, "default");
        var clock = Stopwatch.StartNew();
        var events = new List<WatchEventType>();
        await foreach (var (type, _) in Client.CoreV1.WatchListNamespacedConfigMapAsync("default", timeoutSeconds: 1))
        {
            events.Add(type);
        }

        Assert.Equal([WatchEventType.Added], events);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_watch_that_times_out_without_any_event_fails_in_the_client_as_against_a_real_server()
    {
        // The API server ends such a stream with no body at all, and the client, which waits for
        // a first line before returning, reports the end of the stream as an error
        // (kubernetes-client/csharp#893); CdiTools has to treat that as a quiet timeout.
        var error = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (var _ in Client.CoreV1.WatchListNamespacedConfigMapAsync("default", timeoutSeconds: 1))
            {
            }
        });
        Assert.IsType<EndOfStreamException>(error.InnerException);
    }

    [Fact]
    public async Task A_watch_from_a_version_older_than_the_history_ends_with_Expired()
    {
        // Far more writes than the history keeps, then a watch from before all of them.
        for (var i = 0; i < 10_010; i++)
        {
            Server.PutObject(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject { ["name"] = "churn", ["namespace"] = "default" },
                ["data"] = new JsonObject { ["i"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });
        }

        var errors = new List<Exception>();
        var types = new List<WatchEventType>();
        await foreach (var (type, _) in Client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: "2", timeoutSeconds: 5, onError: errors.Add))
        {
            types.Add(type);
        }

        Assert.Empty(types);
        var expired = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, expired.Status.Code);
        Assert.Equal("Expired", expired.Status.Reason);
        Assert.StartsWith("too old resource version: 2 (", expired.Status.Message);
    }
}
