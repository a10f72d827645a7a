namespace CdiTools.Testing.FakeCluster;

/// <summary>What a <see cref="FakeApiServer"/> starts with; most behaviour can also change while it runs.</summary>
public sealed record FakeClusterOptions
{
    /// <summary>The user every credential the server hands out (token, client certificate, exec plugin) authenticates as.</summary>
    public string UserName { get; init; } = "cdi-tester";

    /// <summary>The simulated controllers that run; each can be left out to test what happens without it.</summary>
    public FakeControllers Controllers { get; init; } = FakeControllers.All;

    /// <summary>How long the controllers wait before reacting to a change; zero reacts straight after each write.</summary>
    public TimeSpan ControllerDelay { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// How long the DataVolume controller waits between the steps of an import, upload or clone
    /// (Pending, scheduled, each progress report, done); zero runs every step at once, each still
    /// a separate write.
    /// </summary>
    public TimeSpan DataVolumeStepDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Namespaces that exist from the start, as on a new cluster.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = ["default", "kube-system", "kube-public", "kube-node-lease"];
}

/// <summary>The simulated controllers of CDI and the HyperConverged operator.</summary>
[Flags]
public enum FakeControllers
{
    /// <summary>No controller reacts; objects change only through requests and seeding.</summary>
    None = 0,

    /// <summary>CDI's operator: copies <c>CDI.spec.config</c> into <c>cdiconfig/config</c> when the CDI CR carries the configAuthority annotation, and reverts direct edits.</summary>
    CdiOperator = 1,

    /// <summary>CDI's config controller: computes <c>cdiconfig/config .status.scratchSpaceStorageClass</c>.</summary>
    CdiConfigStatus = 2,

    /// <summary>The HyperConverged operator: owns <c>CDI.spec.config.scratchSpaceStorageClass</c> while an HCO object exists.</summary>
    HyperConverged = 4,

    /// <summary>
    /// CDI's DataVolume controllers: the target PVC, phases, progress, conditions, restarts and
    /// events of imports, uploads and clones, driven by time (see <see cref="FakeClusterOptions.DataVolumeStepDelay"/>).
    /// </summary>
    DataVolume = 8,

    /// <summary>Kubernetes' garbage collector: deleting an owner deletes the objects whose ownerReferences name it.</summary>
    GarbageCollector = 16,

    /// <summary>
    /// Kubernetes' PV controller and the provisioners behind it: claims bind to fitting volumes or
    /// get new ones, or stay Pending with the controller's event. CDI's DataVolume controller
    /// waits on it for its claims, as the real one does.
    /// </summary>
    PersistentVolume = 32,

    /// <summary>Every controller.</summary>
    All = CdiOperator | CdiConfigStatus | HyperConverged | DataVolume | GarbageCollector | PersistentVolume,
}

/// <summary>How a kubeconfig written by <see cref="FakeApiServer.WriteKubeconfig"/> authenticates.</summary>
public enum KubeconfigAuth
{
    /// <summary>A static bearer token in the kubeconfig.</summary>
    Token,

    /// <summary>A client certificate and key issued by the test CA, inline as <c>client-certificate-data</c>/<c>client-key-data</c>; the CN is the user name.</summary>
    ClientCertificate,

    /// <summary>An exec credential plugin: a small shell script beside the kubeconfig that prints an ExecCredential with its own token.</summary>
    Exec,

    /// <summary>
    /// A user entry with no credentials. KubernetesClient refuses to load such a kubeconfig, as it
    /// would for a real cluster; requests that do reach the server without credentials get 401.
    /// </summary>
    None,
}

/// <summary>One request as the fake API server saw it, for asserting what a client sent.</summary>
public sealed record FakeRequest(
    string Method,
    string Path,
    string Query,
    string? ContentType,
    string Body,
    string? User,
    string? AuthenticatedBy,
    int Status)
{
    /// <summary>The value of one query parameter, or null when absent.</summary>
    public string? QueryValue(string name) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query).TryGetValue(name, out var value) ? value.ToString() : null;
}
