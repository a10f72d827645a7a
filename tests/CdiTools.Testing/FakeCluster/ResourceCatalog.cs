using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// The resources the fake API server serves: the built-in ones CdiTools touches, CDI's CRDs read
/// from tests/data/cdi-reference, a minimal HyperConverged CRD, and CDI's aggregated upload API.
/// </summary>
internal sealed class ResourceCatalog
{
    private static readonly Lazy<ResourceCatalog> Shared = new(() => new ResourceCatalog(RepositoryPaths.CdiReference));

    private readonly List<ApiResource> resources = [];

    private ResourceCatalog(string cdiReference)
    {
        resources.AddRange(BuiltIns());
        foreach (var file in Directory.EnumerateFiles(cdiReference, "*.crd.yaml").Order(StringComparer.Ordinal))
        {
            resources.Add(FromCrd(KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(file))));
        }

        resources.Add(HyperConverged());

        // The CSI snapshotter's CRD, so clones from snapshots have a source to find; its schema is
        // not among the reference files, so any body is accepted.
        resources.Add(new ApiResource
        {
            Group = "snapshot.storage.k8s.io",
            Version = "v1",
            Name = "volumesnapshots",
            SingularName = "volumesnapshot",
            Kind = "VolumeSnapshot",
            Namespaced = true,
            ShortNames = ["vs"],
            IsCustom = true,
            HasStatusSubresource = true,
            AllowUnconditionalUpdate = false,
        });
        resources.Add(new ApiResource
        {
            Group = "upload.cdi.kubevirt.io",
            Version = "v1beta1",
            Name = "uploadtokenrequests",
            SingularName = "uploadtokenrequest",
            Kind = "UploadTokenRequest",
            Namespaced = true,
            ShortNames = ["utr", "utrs"],
            Verbs = ["create"],
            CreateOnly = true,
        });
    }

    /// <summary>The catalog, loaded once per process: parsing CDI's 350 KB CRD for every server would dominate test time.</summary>
    public static ResourceCatalog Instance => Shared.Value;

    public IReadOnlyList<ApiResource> All => resources;

    public ApiResource? Find(string group, string version, string name) =>
        resources.FirstOrDefault(r => r.Group == group && r.Version == version && r.Name == name);

    public ApiResource? FindKind(string apiVersion, string kind) =>
        resources.FirstOrDefault(r => r.ApiVersion == apiVersion && r.Kind == kind);

    /// <summary>Finds by plural, singular, short name or kind, optionally qualified by group (<c>cdis.cdi.kubevirt.io</c>).</summary>
    public ApiResource? FindByName(string name, string? group = null)
    {
        foreach (var r in resources)
        {
            if (group is not null && r.Group != group)
            {
                continue;
            }

            if (r.Name == name || r.SingularName == name || r.ShortNames.Contains(name) || string.Equals(r.Kind, name, StringComparison.OrdinalIgnoreCase)
                || r.QualifiedName == name)
            {
                return r;
            }
        }

        return null;
    }

    private static IEnumerable<ApiResource> BuiltIns()
    {
        ApiResource Core(string name, string singular, string kind, bool namespaced, bool status, params string[] shortNames) => new()
        {
            Group = "",
            Version = "v1",
            Name = name,
            SingularName = singular,
            Kind = kind,
            Namespaced = namespaced,
            HasStatusSubresource = status,
            ShortNames = shortNames,
            ReturnsDeletedObject = kind is "Namespace" or "Pod" or "Service" or "PersistentVolumeClaim" or "PersistentVolume",
        };

        yield return Core("namespaces", "namespace", "Namespace", false, true, "ns");
        yield return Core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, true, "pvc");
        yield return Core("persistentvolumes", "persistentvolume", "PersistentVolume", false, true, "pv");
        yield return Core("resourcequotas", "resourcequota", "ResourceQuota", true, true, "quota");
        yield return Core("limitranges", "limitrange", "LimitRange", true, false, "limits");
        yield return Core("secrets", "secret", "Secret", true, false);
        yield return Core("configmaps", "configmap", "ConfigMap", true, false, "cm");
        yield return Core("events", "event", "Event", true, false, "ev");
        yield return Core("pods", "pod", "Pod", true, true, "po");
        yield return Core("services", "service", "Service", true, true, "svc");
        yield return new ApiResource
        {
            Group = "storage.k8s.io",
            Version = "v1",
            Name = "storageclasses",
            SingularName = "storageclass",
            Kind = "StorageClass",
            Namespaced = false,
            ShortNames = ["sc"],
            ReturnsDeletedObject = true,
        };
    }

    private static ApiResource FromCrd(V1CustomResourceDefinition crd)
    {
        // The storage version is the one CDI's operator keeps serving; it strips v1alpha1 from the live CDI CRD.
        var version = crd.Spec.Versions.Single(v => v.Storage);
        var schema = (JsonObject)JsonNode.Parse(KubernetesJson.Serialize(version.Schema.OpenAPIV3Schema))!;
        Materialize(schema);
        return new ApiResource
        {
            Group = crd.Spec.Group,
            Version = version.Name,
            Name = crd.Spec.Names.Plural,
            SingularName = crd.Spec.Names.Singular,
            Kind = crd.Spec.Names.Kind,
            Namespaced = crd.Spec.Scope == "Namespaced",
            ShortNames = [.. crd.Spec.Names.ShortNames ?? []],
            Categories = [.. crd.Spec.Names.Categories ?? []],
            IsCustom = true,
            HasStatusSubresource = version.Subresources?.Status is not null,
            AllowUnconditionalUpdate = false,
            Schema = new StructuralSchema(schema),
        };
    }

    private static ApiResource HyperConverged()
    {
        // HCO's CRD is not among the reference files; this keeps the one field CdiTools writes
        // typed and lets everything else through, as the brief for the fake allows.
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["apiVersion"] = new JsonObject { ["type"] = "string" },
                ["kind"] = new JsonObject { ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["spec"] = new JsonObject
                {
                    ["type"] = "object",
                    ["x-kubernetes-preserve-unknown-fields"] = true,
                    ["properties"] = new JsonObject
                    {
                        ["scratchSpaceStorageClass"] = new JsonObject { ["type"] = "string" },
                    },
                },
                ["status"] = new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
            },
        };
        return new ApiResource
        {
            Group = "hco.kubevirt.io",
            Version = "v1beta1",
            Name = "hyperconvergeds",
            SingularName = "hyperconverged",
            Kind = "HyperConverged",
            Namespaced = true,
            ShortNames = ["hco", "hcos"],
            IsCustom = true,
            HasStatusSubresource = true,
            AllowUnconditionalUpdate = false,
            Schema = new StructuralSchema(schema),
        };
    }

    /// <summary>
    /// Parsed nodes build their children lazily, which is not safe when several requests read one
    /// shared schema at once; walking the tree once builds them all up front.
    /// </summary>
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Materialize(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Materialize(child);
                }

                break;
        }
    }
}
