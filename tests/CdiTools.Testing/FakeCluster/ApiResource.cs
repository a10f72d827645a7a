namespace CdiTools.Testing.FakeCluster;

/// <summary>How a served resource behaves: where it lives, what it may do, and its schema if it is a custom resource.</summary>
internal sealed class ApiResource
{
    public required string Group { get; init; }

    public required string Version { get; init; }

    /// <summary>The plural, as in URLs.</summary>
    public required string Name { get; init; }

    public required string SingularName { get; init; }

    public required string Kind { get; init; }

    public required bool Namespaced { get; init; }

    public IReadOnlyList<string> ShortNames { get; init; } = [];

    public IReadOnlyList<string> Categories { get; init; } = [];

    public IReadOnlyList<string> Verbs { get; init; } = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    /// <summary>True for resources defined by CRDs: they get structural-schema handling and refuse strategic merge patch.</summary>
    public bool IsCustom { get; init; }

    /// <summary>Whether the CRD declares <c>subresources.status</c>; built-ins that have one say so here too.</summary>
    public bool HasStatusSubresource { get; init; }

    /// <summary>
    /// Built-in types allow PUT without a resourceVersion (last writer wins); custom resources do not.
    /// </summary>
    public bool AllowUnconditionalUpdate { get; init; } = true;

    /// <summary>
    /// What a DELETE that removes the object at once answers: the object for the few registries
    /// that set ReturnDeletedObject (pods, services, PVCs, PVs, storage classes, namespaces), a
    /// Status of success for the rest, custom resources, Secrets and ConfigMaps among them. A
    /// delete that finalizers hold back answers with the object either way.
    /// </summary>
    public bool ReturnsDeletedObject { get; init; }

    /// <summary>Only POST is served, answered by a handler rather than stored (UploadTokenRequest).</summary>
    public bool CreateOnly { get; init; }

    /// <summary>The openAPIV3Schema of the served version, for custom resources.</summary>
    public StructuralSchema? Schema { get; init; }

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string GroupVersion => ApiVersion;

    /// <summary>The name the API server uses in messages: <c>cdis.cdi.kubevirt.io</c>, or just <c>persistentvolumeclaims</c> in the core group.</summary>
    public string QualifiedName => Group.Length == 0 ? Name : $"{Name}.{Group}";

    /// <summary>The kind as the API server qualifies it in Invalid messages: <c>CDI.cdi.kubevirt.io</c>.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    public override string ToString() => QualifiedName;
}
