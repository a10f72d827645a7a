using System.Text.Json.Nodes;
using static CdiTools.Testing.FakeCluster.JsonStrings;
using static CdiTools.Testing.FakeCluster.ObjectMeta;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Kubernetes' garbage collector as clients see it: once every owner an object's ownerReferences
/// name is gone, the object is deleted in the background (and so on down the chain); references
/// to owners that are gone are dropped from an object that still has another; an owner deleted
/// in the foreground stays, marked, until its dependents are gone; orphaning strips the
/// references from the dependents first. Owners are matched by uid, as the collector does.
/// </summary>
internal sealed class GarbageCollector(FakeApiServer server, FakeControllers enabled)
    : SweepingController(server, enabled.HasFlag(FakeControllers.GarbageCollector))
{
    public const string ForegroundFinalizer = "foregroundDeletion";

    protected override string Name => "garbage collector";

    /// <summary>
    /// Removes the references to <paramref name="ownerUid"/> from its dependents, for a delete with
    /// propagationPolicy Orphan. Callers hold the store's gate.
    /// </summary>
    public void Orphan(string ownerUid)
    {
        foreach (var (resource, obj) in Everything())
        {
            if (References(obj).Any(r => UidOf(r) == ownerUid))
            {
                var next = obj.DeepClone().AsObject();
                SetReferences(next, References(obj).Where(r => UidOf(r) != ownerUid));
                Server.Commit(resource, obj, next);
            }
        }
    }

    /// <summary>Each sweep may free the next level of dependents; the bound stops a cycle of owners.</summary>
    protected override bool SweepLocked()
    {
        var changed = false;
        for (var sweep = 0; sweep < 50 && Sweep(); sweep++)
        {
            changed = true;
        }

        return changed;
    }

    private static string UidOf(JsonNode? node) => Text(node?["uid"]) ?? Text(node?["metadata"]?["uid"]) ?? "";

    private static List<JsonObject> References(JsonObject obj) => [.. (obj["metadata"]?["ownerReferences"] as JsonArray ?? []).OfType<JsonObject>()];

    private static void SetReferences(JsonObject obj, IEnumerable<JsonObject> references)
    {
        var meta = (JsonObject)obj["metadata"]!;
        var kept = new JsonArray(references.Select(r => (JsonNode?)r.DeepClone()).ToArray());
        if (kept.Count == 0)
        {
            meta.Remove("ownerReferences");
        }
        else
        {
            meta["ownerReferences"] = kept;
        }
    }

    private List<(ApiResource Resource, JsonObject Object)> Everything() =>
        [.. Server.Catalog.All.Where(r => !r.CreateOnly).SelectMany(r => Server.Store.List(r, null).Select(o => (r, o)))];

    /// <summary>The object as stored now, if it is still the same one.</summary>
    private JsonObject? Current(ApiResource resource, JsonObject obj)
    {
        var current = Server.Store.Get(resource, ObjectStore.NamespaceOf(obj), ObjectStore.NameOf(obj));
        return current is not null && UidOf(current) == UidOf(obj) ? current : null;
    }

    /// <summary>One pass over every object; true when it changed anything.</summary>
    private bool Sweep()
    {
        var all = Everything();
        var live = all.Select(e => UidOf(e.Object)).ToHashSet(StringComparer.Ordinal);
        var changed = false;
        foreach (var (resource, listed) in all)
        {
            var references = References(listed);
            if (references.Count == 0 || IsDeleting(listed) || Current(resource, listed) is not { } obj)
            {
                continue;
            }

            var present = references.Where(r => live.Contains(UidOf(r))).ToList();
            if (present.Count == 0)
            {
                Server.DeleteLocked(resource, obj, dryRun: false);
                changed = true;
            }
            else if (present.Count < references.Count)
            {
                var next = obj.DeepClone().AsObject();
                SetReferences(next, present);
                Server.Commit(resource, obj, next);
                changed = true;
            }
        }

        foreach (var (resource, listed) in all)
        {
            if (!IsDeleting(listed) || !Finalizers(listed).Contains(ForegroundFinalizer) || Current(resource, listed) is not { } owner)
            {
                continue;
            }

            var uid = UidOf(owner);
            var dependents = Everything().Where(e => References(e.Object).Any(r => UidOf(r) == uid)).ToList();
            foreach (var (dependentResource, dependent) in dependents.Where(d => !IsDeleting(d.Object)))
            {
                Server.DeleteLocked(dependentResource, dependent, dryRun: false);
                changed = true;
            }

            if (!Everything().Any(e => References(e.Object).Any(r => UidOf(r) == uid)))
            {
                var next = owner.DeepClone().AsObject();
                var finalizers = new JsonArray(Finalizers(owner).Where(f => f != ForegroundFinalizer).Select(f => (JsonNode?)f).ToArray());
                ((JsonObject)next["metadata"]!)["finalizers"] = finalizers;
                if (finalizers.Count == 0)
                {
                    ((JsonObject)next["metadata"]!).Remove("finalizers");
                }

                Server.Commit(resource, owner, next);
                changed = true;
            }
        }

        return changed;
    }

    private static List<string> Finalizers(JsonObject obj) =>
        [.. (obj["metadata"]?["finalizers"] as JsonArray ?? []).Select(Text).OfType<string>()];
}
