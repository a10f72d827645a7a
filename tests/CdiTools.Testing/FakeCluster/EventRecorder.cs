using System.Text.Json.Nodes;
using static CdiTools.Testing.FakeCluster.JsonStrings;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// core/v1 Events as client-go's recorder writes them, for every simulated controller: a repeat
/// of the same event on the same object bumps its count and lastTimestamp instead of adding one,
/// as the recorder's correlator does. Callers hold the store's gate.
/// </summary>
internal sealed class EventRecorder(FakeApiServer server)
{
    private long counter;

    private ApiResource Events => server.Catalog.Find("", "v1", "events")!;

    public void Record(JsonObject involved, string type, string reason, string message, string component)
    {
        var ns = ObjectStore.NamespaceOf(involved);
        var uid = Text(involved["metadata"]?["uid"]) ?? "";
        var now = FakeApiServer.Now();
        var same = About(involved).FirstOrDefault(e =>
            Text(e["reason"]) == reason && Text(e["message"]) == message && Text(e["type"]) == type && Text(e["source"]?["component"]) == component);
        if (same is not null)
        {
            var repeated = same.DeepClone().AsObject();
            repeated["count"] = JsonNumbers.AsLong(same["count"]) + 1;
            repeated["lastTimestamp"] = now;
            server.Commit(Events, same, repeated);
            return;
        }

        var nanos = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000) + (Interlocked.Increment(ref counter) % 1_000_000);
        var created = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{ObjectStore.NameOf(involved)}.{nanos:x}",
                ["namespace"] = ns,
            },
            ["involvedObject"] = new JsonObject
            {
                ["kind"] = Text(involved["kind"]),
                ["namespace"] = ns,
                ["name"] = ObjectStore.NameOf(involved),
                ["uid"] = uid,
                ["apiVersion"] = Text(involved["apiVersion"]),
                ["resourceVersion"] = Text(involved["metadata"]?["resourceVersion"]),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = new JsonObject { ["component"] = component },
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["count"] = 1,
            ["type"] = type,
            ["eventTime"] = null,
            ["reportingComponent"] = component,
            ["reportingInstance"] = "",
        };
        FakeApiServer.Stamp(Events, created);
        server.Store.Put(Events, created);
    }

    /// <summary>The events about one object, matched by uid as controllers select them (involvedObject.uid).</summary>
    public List<JsonObject> About(JsonObject involved)
    {
        var uid = Text(involved["metadata"]?["uid"]) ?? "";
        return [.. server.Store.List(Events, ObjectStore.NamespaceOf(involved)).Where(e => Text(e["involvedObject"]?["uid"]) == uid)];
    }
}
