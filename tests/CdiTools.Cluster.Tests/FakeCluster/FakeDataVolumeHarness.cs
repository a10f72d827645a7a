using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>
/// The fake cluster with CDI installed and a default CSI class, plus DataVolume builders and
/// waits, for the tests of the simulated DataVolume controller.
/// </summary>
public abstract class FakeDataVolumeHarness : FakeClusterHarness
{
    protected override FakeClusterOptions Options => new() { DataVolumeStepDelay = TimeSpan.FromMilliseconds(20) };

    protected static JsonObject HttpDataVolume(string name, string ns = "default", string size = "1Gi") => new()
    {
        ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
        ["kind"] = "DataVolume",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["source"] = new JsonObject { ["http"] = new JsonObject { ["url"] = "https://images.example.com/disk.qcow2" } },
            ["storage"] = new JsonObject { ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = size } } },
        },
    };

    protected static JsonObject WithSource(JsonObject dataVolume, JsonObject source)
    {
        dataVolume["spec"]!["source"] = source;
        return dataVolume;
    }

    protected static JsonObject WithAnnotation(JsonObject dataVolume, string key, string value)
    {
        var meta = (JsonObject)dataVolume["metadata"]!;
        var annotations = meta["annotations"] as JsonObject ?? [];
        meta["annotations"] = annotations;
        annotations[key] = value;
        return dataVolume;
    }

    protected static string? Phase(JsonObject dataVolume) => (string?)dataVolume["status"]?["phase"];

    protected static JsonObject? ConditionOf(JsonObject dataVolume, string type) =>
        (dataVolume["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);

    protected Task<JsonObject> CreateAsync(JsonObject dataVolume) =>
        CreateInAsync(dataVolume, (string?)dataVolume["metadata"]!["namespace"] ?? "default");

    protected async Task<JsonObject> CreateInAsync(JsonObject dataVolume, string ns) =>
        Node(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(dataVolume, Cdi, V1Beta1, ns, "datavolumes"));

    protected async Task<JsonObject> GetAsync(string name, string ns = "default") =>
        Node(await Client.CustomObjects.GetNamespacedCustomObjectAsync(Cdi, V1Beta1, ns, "datavolumes", name));

    protected async Task<JsonObject> WaitForAsync(string name, Func<JsonObject, bool> condition, string ns = "default")
    {
        JsonObject current = [];
        await EventuallyAsync(async () => condition(current = await GetAsync(name, ns)), TimeSpan.FromSeconds(15));
        return current;
    }

    protected Task<JsonObject> WaitForPhaseAsync(string name, string phase, string ns = "default") =>
        WaitForAsync(name, dv => Phase(dv) == phase, ns);

    /// <summary>The events about one object, oldest first, as a client lists them.</summary>
    protected async Task<List<k8s.Models.Corev1Event>> EventsAboutAsync(string name, string ns = "default", string kind = "DataVolume")
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={name},involvedObject.kind={kind}");
        return [.. list.Items.OrderBy(e => e.Metadata.ResourceVersion.PadLeft(20, '0'), StringComparer.Ordinal)];
    }

    /// <summary>
    /// Watches one DataVolume from <paramref name="resourceVersion"/> and returns the status of each
    /// change until <paramref name="done"/> holds.
    /// </summary>
    protected async Task<List<JsonObject>> WatchStatusesAsync(string name, string resourceVersion, Func<JsonObject, bool> done, string ns = "default")
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<JsonObject>();
        var watch = Client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            Cdi, V1Beta1, ns, "datavolumes", fieldSelector: $"metadata.name={name}", resourceVersion: resourceVersion, cancellationToken: cancel.Token);
        await foreach (var (type, item) in watch)
        {
            Assert.Equal(WatchEventType.Modified, type);
            var obj = Node(item);
            seen.Add(obj["status"]?.DeepClone().AsObject() ?? []);
            if (done(obj))
            {
                break;
            }
        }

        return seen;
    }

    protected static List<string?> Distinct(IEnumerable<string?> values)
    {
        var result = new List<string?>();
        foreach (var value in values)
        {
            if (result.Count == 0 || result[^1] != value)
            {
                result.Add(value);
            }
        }

        return result;
    }
}
