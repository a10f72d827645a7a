using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>The discovery documents (legacy, unaggregated form) clients read to learn which resources exist.</summary>
internal static class Discovery
{
    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject GroupList(ResourceCatalog catalog)
    {
        var groups = new JsonArray();
        foreach (var group in Groups(catalog))
        {
            groups.Add(Group(catalog, group)!);
        }

        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public static JsonObject? Group(ResourceCatalog catalog, string name)
    {
        var versions = catalog.All.Where(r => r.Group == name).Select(r => r.Version).Distinct().ToList();
        if (name.Length == 0 || versions.Count == 0)
        {
            return null;
        }

        var list = new JsonArray();
        foreach (var version in versions)
        {
            list.Add(new JsonObject { ["groupVersion"] = $"{name}/{version}", ["version"] = version });
        }

        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = name,
            ["versions"] = list,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{name}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    public static JsonObject? ResourceList(ResourceCatalog catalog, string group, string version)
    {
        var served = catalog.All.Where(r => r.Group == group && r.Version == version).ToList();
        if (served.Count == 0)
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (var r in served)
        {
            var entry = new JsonObject
            {
                ["name"] = r.Name,
                ["singularName"] = r.SingularName,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray([.. r.Verbs.Select(v => (JsonNode)v)]),
            };
            if (r.ShortNames.Count > 0)
            {
                entry["shortNames"] = new JsonArray([.. r.ShortNames.Select(s => (JsonNode)s)]);
            }

            if (r.Categories.Count > 0)
            {
                entry["categories"] = new JsonArray([.. r.Categories.Select(s => (JsonNode)s)]);
            }

            resources.Add(entry);
            if (r.HasStatusSubresource)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = r.Name + "/status",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "33",
        ["gitVersion"] = "v1.33.0",
        ["gitCommit"] = "fake",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-04-23T00:00:00Z",
        ["goVersion"] = "go1.24.2",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    private static IEnumerable<string> Groups(ResourceCatalog catalog) =>
        catalog.All.Select(r => r.Group).Where(g => g.Length > 0).Distinct();
}
