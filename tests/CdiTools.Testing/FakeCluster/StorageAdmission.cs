using System.Text.Json.Nodes;
using k8s.Models;
using static CdiTools.Testing.FakeCluster.JsonStrings;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// What the API server's LimitRanger and ResourceQuota admission plugins do to a new PVC, in that
/// order (plugin/pkg/admission/limitranger/admission.go; the apiserver's
/// admission/plugin/resourcequota/controller.go with the PVC evaluator of
/// pkg/quota/v1/evaluator/core/persistent_volume_claims.go), and the quota controller's part of
/// the bookkeeping. An admitted claim's usage is added to <c>status.used</c> of each quota that
/// tracks it and taken off again when the claim leaves the store; usage moves by these deltas and
/// is never recounted, so quotas seeded with a cluster's figures keep them. A quota whose
/// <c>status.used</c> lacks a resource counts it as 0, standing in for the quota controller's
/// first count (the real plugin refuses with "status unknown for quota" until then). Claims seeded
/// with <see cref="FakeApiServer.PutObject"/> are taken as counted in the seeded figures already;
/// like any claim they are taken off when they go, never below 0. Callers hold the store's gate.
/// </summary>
internal static class StorageAdmission
{
    private const string PersistentVolumeClaims = "persistentvolumeclaims";
    private const string RequestsStorage = "requests.storage";
    private const string ObjectCount = "count/persistentvolumeclaims";
    private const string ByClass = ".storageclass.storage.k8s.io/";

    /// <summary>Refuses a new PVC the namespace's LimitRanges or ResourceQuotas do not allow, with the plugins' 403.</summary>
    public static void Check(FakeApiServer server, ApiResource resource, JsonObject obj)
    {
        if (resource.Kind != "PersistentVolumeClaim")
        {
            return;
        }

        if ((LimitRangeProblem(server, obj) ?? QuotaProblem(server, obj)) is { } problem)
        {
            throw ApiError.Forbidden(resource.QualifiedName, resource.Name, resource.Group, ObjectStore.NameOf(obj), problem);
        }
    }

    /// <summary>Adds an admitted claim's usage to each quota that tracks it, as the plugin's optimistic status update does.</summary>
    public static void Charge(FakeApiServer server, JsonObject pvc) =>
        Update(server, pvc, (used, requested) =>
            (used.Value + requested.Value, used.Value == 0 ? requested.Format : used.Format));

    /// <summary>Takes a removed claim's usage off each quota that tracks it, as the quota controller's recount would.</summary>
    public static void Release(FakeApiServer server, JsonObject pvc) =>
        Update(server, pvc, (used, requested) => (Math.Max(0, used.Value - requested.Value), used.Format));

    /// <summary>
    /// The LimitRanger's refusal, if any (PersistentVolumeClaimValidateLimitFunc): min and max of
    /// each <c>PersistentVolumeClaim</c> item against the claim's requests; the first LimitRange
    /// with a violation refuses, listing all of its violations as the errors aggregate prints them.
    /// </summary>
    private static string? LimitRangeProblem(FakeApiServer server, JsonObject pvc)
    {
        var requests = pvc["spec"]?["resources"]?["requests"] as JsonObject ?? [];
        foreach (var limitRange in server.Store.List(server.Catalog.Find("", "v1", "limitranges")!, ObjectStore.NamespaceOf(pvc)))
        {
            var errors = new List<string>();
            foreach (var item in (limitRange["spec"]?["limits"] as JsonArray ?? []).OfType<JsonObject>().Where(l => Text(l["type"]) == "PersistentVolumeClaim"))
            {
                foreach (var (name, bound) in item["min"] as JsonObject ?? [])
                {
                    if (Quantities.Parse(bound) is not { } min)
                    {
                        continue;
                    }

                    if (Quantities.Parse(requests[name]) is not { } request)
                    {
                        errors.Add($"minimum {name} usage per PersistentVolumeClaim is {min}.  No request is specified");
                    }
                    else if (request.ToDecimal() < min.ToDecimal())
                    {
                        errors.Add($"minimum {name} usage per PersistentVolumeClaim is {min}, but request is {request}");
                    }
                }

                foreach (var (name, bound) in item["max"] as JsonObject ?? [])
                {
                    if (Quantities.Parse(bound) is not { } max)
                    {
                        continue;
                    }

                    if (Quantities.Parse(requests[name]) is not { } request)
                    {
                        errors.Add($"maximum {name} usage per PersistentVolumeClaim is {max}.  No request is specified");
                    }
                    else if (request.ToDecimal() > max.ToDecimal())
                    {
                        errors.Add($"maximum {name} usage per PersistentVolumeClaim is {max}, but request is {request}");
                    }
                }
            }

            if (errors.Count > 0)
            {
                return errors.Count == 1 ? errors[0] : "[" + string.Join(", ", errors) + "]";
            }
        }

        return null;
    }

    /// <summary>
    /// The ResourceQuota plugin's refusal, if any (CheckRequest): each quota's tracked resources
    /// after adding the claim against its hard limits; only the exceeded resources are quoted,
    /// sorted by name, as prettyPrint prints them.
    /// </summary>
    private static string? QuotaProblem(FakeApiServer server, JsonObject pvc)
    {
        foreach (var (quota, hard, requested) in Tracking(server, pvc))
        {
            var used = quota["status"]?["used"] as JsonObject ?? [];
            var exceeded = requested.Keys
                .Where(name => (Quantities.Entry(used[name])?.Value ?? 0) + requested[name].Value > (Quantities.Entry(hard[name])?.Value ?? 0))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (exceeded.Count == 0)
            {
                continue;
            }

            string List(Func<string, string> value) => string.Join(",", exceeded.Select(name => $"{name}={value(name)}"));
            return $"exceeded quota: {ObjectStore.NameOf(quota)}, "
                + $"requested: {List(name => Quantities.Format(requested[name].Value, requested[name].Format))}, "
                + $"used: {List(name => Quantities.Parse(used[name])?.ToString() ?? "0")}, "
                + $"limited: {List(name => Quantities.Parse(hard[name])?.ToString() ?? "0")}";
        }

        return null;
    }

    private static void Update(
        FakeApiServer server,
        JsonObject pvc,
        Func<(decimal Value, ResourceQuantity.SuffixFormat Format), (decimal Value, ResourceQuantity.SuffixFormat Format), (decimal Value, ResourceQuantity.SuffixFormat Format)> combine)
    {
        var quotas = server.Catalog.Find("", "v1", "resourcequotas")!;
        foreach (var (quota, hard, requested) in Tracking(server, pvc))
        {
            var next = quota.DeepClone().AsObject();
            var status = next["status"] as JsonObject ?? [];
            next["status"] = status;
            status["hard"] ??= hard.DeepClone();
            var used = status["used"] as JsonObject ?? [];
            status["used"] = used;
            foreach (var (name, amount) in requested)
            {
                var (value, format) = combine(Quantities.Entry(used[name]) ?? (0, amount.Format), amount);
                used[name] = Quantities.Format(value, format);
            }

            server.Commit(quotas, quota, next);
        }
    }

    /// <summary>
    /// The quotas in the claim's namespace whose <c>spec.hard</c> names a resource the claim uses,
    /// each with that usage masked to its hard resources (quota.Mask), zero entries left out.
    /// </summary>
    private static IEnumerable<(JsonObject Quota, JsonObject Hard, Dictionary<string, (decimal Value, ResourceQuantity.SuffixFormat Format)> Requested)> Tracking(
        FakeApiServer server, JsonObject pvc)
    {
        var usage = Usage(pvc);
        foreach (var quota in server.Store.List(server.Catalog.Find("", "v1", "resourcequotas")!, ObjectStore.NamespaceOf(pvc)))
        {
            if ((quota["spec"]?["hard"] ?? quota["status"]?["hard"]) is not JsonObject hard)
            {
                continue;
            }

            var requested = usage.Where(u => hard.ContainsKey(u.Key) && u.Value.Value != 0).ToDictionary(u => u.Key, u => u.Value, StringComparer.Ordinal);
            if (requested.Count > 0)
            {
                yield return (quota, hard, requested);
            }
        }
    }

    /// <summary>What one claim uses, as the PVC evaluator measures it (Usage): the claim itself, its storage request rounded up to whole bytes, and both again under its class.</summary>
    private static Dictionary<string, (decimal Value, ResourceQuantity.SuffixFormat Format)> Usage(JsonObject pvc)
    {
        var one = (1m, ResourceQuantity.SuffixFormat.DecimalSI);
        var usage = new Dictionary<string, (decimal, ResourceQuantity.SuffixFormat)>(StringComparer.Ordinal)
        {
            [PersistentVolumeClaims] = one,
            [ObjectCount] = one,
        };
        var storageClass = PersistentVolumeBinder.ClassOf(pvc);
        if (storageClass.Length > 0)
        {
            usage[storageClass + ByClass + PersistentVolumeClaims] = one;
        }

        if (Quantities.Entry(pvc["spec"]?["resources"]?["requests"]?["storage"]) is { } request)
        {
            var storage = (Math.Ceiling(request.Value), request.Format);
            usage[RequestsStorage] = storage;
            if (storageClass.Length > 0)
            {
                usage[storageClass + ByClass + RequestsStorage] = storage;
            }
        }

        return usage;
    }
}
