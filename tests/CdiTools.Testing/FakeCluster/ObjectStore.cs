using System.Globalization;
using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>One change as a watch reports it, with the state before it so selector moves can be told apart.</summary>
internal sealed record WatchEvent(long ResourceVersion, string Type, ApiResource Resource, JsonObject Object, JsonObject? Previous);

/// <summary>
/// The cluster's objects, one global resourceVersion counter like etcd's revision, and a bounded
/// history of changes for watches that start from a resourceVersion. Stored objects are never
/// changed in place: every write stores a new node, so events and readers can share them.
/// Callers hold <see cref="Gate"/> across read-check-write sequences.
/// </summary>
internal sealed class ObjectStore
{
    private const int HistoryLimit = 10_000;

    private readonly Dictionary<(string Resource, string Namespace, string Name), JsonObject> objects = [];
    private readonly LinkedList<WatchEvent> history = new();
    private long resourceVersion = 1;
    private long oldestRetained = 1;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public object Gate { get; } = new();

    /// <summary>Raised under the gate after an object leaves the store, whichever path removed it.</summary>
    public event Action<ApiResource, JsonObject>? Removed;

    public long CurrentVersion
    {
        get
        {
            lock (Gate)
            {
                return resourceVersion;
            }
        }
    }

    public static string NamespaceOf(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>() ?? "";

    public static string NameOf(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? "";

    public static long VersionOf(JsonObject obj) =>
        long.TryParse(obj["metadata"]?["resourceVersion"]?.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;

    public JsonObject? Get(ApiResource resource, string ns, string name)
    {
        lock (Gate)
        {
            return objects.GetValueOrDefault((resource.QualifiedName, ns, name));
        }
    }

    /// <summary>Objects of a resource in one namespace (or all when null), in the API server's key order.</summary>
    public List<JsonObject> List(ApiResource resource, string? ns)
    {
        lock (Gate)
        {
            return [.. objects
                .Where(e => e.Key.Resource == resource.QualifiedName && (ns is null || e.Key.Namespace == ns))
                .OrderBy(e => e.Key.Namespace, StringComparer.Ordinal)
                .ThenBy(e => e.Key.Name, StringComparer.Ordinal)
                .Select(e => e.Value)];
        }
    }

    /// <summary>Stores <paramref name="obj"/> (which the store then owns) under a new resourceVersion and records the event.</summary>
    public JsonObject Put(ApiResource resource, JsonObject obj)
    {
        lock (Gate)
        {
            var key = (resource.QualifiedName, NamespaceOf(obj), NameOf(obj));
            objects.TryGetValue(key, out var previous);
            var version = ++resourceVersion;
            ((JsonObject)obj["metadata"]!)["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
            objects[key] = obj;
            Record(new WatchEvent(version, previous is null ? "ADDED" : "MODIFIED", resource, obj, previous));
            return obj;
        }
    }

    /// <summary>Removes the object; the DELETED event carries its last state under a new resourceVersion, as the API server's does.</summary>
    public JsonObject? Remove(ApiResource resource, string ns, string name)
    {
        lock (Gate)
        {
            if (!objects.Remove((resource.QualifiedName, ns, name), out var previous))
            {
                return null;
            }

            var version = ++resourceVersion;
            var final = (JsonObject)previous.DeepClone();
            ((JsonObject)final["metadata"]!)["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
            Record(new WatchEvent(version, "DELETED", resource, final, previous));
            Removed?.Invoke(resource, previous);
            return previous;
        }
    }

    /// <summary>
    /// Events after <paramref name="after"/>, or null when that version is older than the history
    /// kept (the watch then ends with 410 Expired), plus a task that completes on the next change.
    /// </summary>
    public (List<WatchEvent>? Events, Task Changed) ReadAfter(long after)
    {
        lock (Gate)
        {
            if (after < oldestRetained - 1)
            {
                return (null, changed.Task);
            }

            var events = new List<WatchEvent>();
            for (var node = history.Last; node is not null && node.Value.ResourceVersion > after; node = node.Previous)
            {
                events.Add(node.Value);
            }

            events.Reverse();
            return (events, changed.Task);
        }
    }

    /// <summary>Wakes watches without a change, so they notice the server stopping.</summary>
    public void Wake()
    {
        lock (Gate)
        {
            var old = changed;
            changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            old.TrySetResult();
        }
    }

    private void Record(WatchEvent e)
    {
        history.AddLast(e);
        if (history.Count > HistoryLimit)
        {
            history.RemoveFirst();
            oldestRetained = history.First!.Value.ResourceVersion;
        }

        var old = changed;
        changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }
}
