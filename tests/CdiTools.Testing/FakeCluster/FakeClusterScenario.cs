using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A cluster to seed a <see cref="FakeApiServer"/> with, read from JSON (camelCase) so Pester
/// suites can describe the cluster they run against:
/// <code>
/// {
///   "namespaces": ["images"],
///   "storageClasses": [{ "name": "standard", "provisioner": "example.com/csi", "default": true, "volumeBindingMode": "WaitForFirstConsumer" }],
///   "storageProfiles": [{ "storageClass": "standard", "claimPropertySets": [{ "accessMode": "ReadWriteOnce", "volumeMode": "Filesystem" }] }],
///   "cdi": { "version": "v1.66.0", "configAuthority": true, "uploadProxyUrl": "cdi-uploadproxy.cdi.svc" },
///   "hyperConverged": { "scratchSpaceStorageClass": "standard" },
///   "objects": [{ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x", "namespace": "images" }, "data": {} }],
///   "denials": [{ "verb": "patch", "resource": "cdis", "group": "cdi.kubevirt.io" }],
///   "controllerDelayMilliseconds": 0,
///   "dataVolumeStepDelayMilliseconds": 50,
///   "importFailures": [
///     { "namespace": "images", "name": "flaky", "message": "Unable to connect to http data source: 503", "restarts": 2 },
///     { "namespace": "images", "name": "small", "tooSmall": { "virtualSize": 10737418240, "availableSize": 1073741824 } },
///     { "namespace": "images", "name": "corrupt", "checksumMismatch": { "algorithm": "sha256", "expected": "aa..", "calculated": "bb.." } }
///   ],
///   "completeUploads": [{ "namespace": "images", "name": "uploaded" }],
///   "failingProvisioners": { "example.com/csi": "rpc error: code = ResourceExhausted desc = out of capacity" },
///   "dataVolumeWebhook": true,
///   "uploadProxy": {
///     "async": true, "readyTimeoutMilliseconds": 10000, "readyPollMilliseconds": 1000, "asyncCompletionDelayMilliseconds": 100,
///     "tokenLifetimeMilliseconds": 2000, "tokenLeewayMilliseconds": 10000,
///     "resetConnections": { "afterBytes": 1048576, "uploads": 1 },
///     "serviceUnavailable": { "requests": 2, "body": "" },
///     "slowReads": { "delayMilliseconds": 5, "chunkBytes": 65536 },
///     "notReady": [{ "namespace": "images", "name": "disk", "milliseconds": 3000 }]
///   }
/// }
/// </code>
/// </summary>
public sealed record FakeClusterScenario
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public IReadOnlyList<string> Namespaces { get; init; } = [];

    public IReadOnlyList<ScenarioStorageClass> StorageClasses { get; init; } = [];

    public IReadOnlyList<ScenarioStorageProfile> StorageProfiles { get; init; } = [];

    /// <summary>CDI to install; none when absent.</summary>
    public ScenarioCdi? Cdi { get; init; }

    /// <summary>A HyperConverged object to create; none when absent.</summary>
    public ScenarioHyperConverged? HyperConverged { get; init; }

    /// <summary>
    /// Any other objects, stored as given (see <see cref="FakeApiServer.PutObject"/>) in order; an
    /// ownerReference without a uid gets the uid of the owner of that kind and name seeded before
    /// it in the same namespace, since the server gives every object a new uid.
    /// </summary>
    public IReadOnlyList<JsonObject> Objects { get; init; } = [];

    public IReadOnlyList<ScenarioDenial> Denials { get; init; } = [];

    public int ControllerDelayMilliseconds { get; init; }

    /// <summary>The DataVolume controller's step delay; the server's default (50 ms) when absent.</summary>
    public int? DataVolumeStepDelayMilliseconds { get; init; }

    /// <summary>Importer failures to script (see <see cref="FakeApiServer.FailImport(string, string, FakeImportFailure)"/>), for DataVolumes created later.</summary>
    public IReadOnlyList<ScenarioImportFailure> ImportFailures { get; init; } = [];

    /// <summary>Uploads that finish as soon as they are ready (see <see cref="FakeApiServer.CompleteUpload"/>).</summary>
    public IReadOnlyList<ScenarioDataVolumeName> CompleteUploads { get; init; } = [];

    /// <summary>Provisioners that fail every volume, with the error each reports (see <see cref="FakeApiServer.FailProvisioning"/>).</summary>
    public IReadOnlyDictionary<string, string> FailingProvisioners { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether CDI's DataVolume validating webhook runs; on unless false.</summary>
    public bool DataVolumeWebhook { get; init; } = true;

    /// <summary>CDI's upload proxy to start (its address goes to CDIConfig's status); none when absent.</summary>
    public ScenarioUploadProxy? UploadProxy { get; init; }

    private static JsonObject WithOwnerUids(FakeApiServer server, JsonObject obj)
    {
        if (obj["metadata"]?["ownerReferences"] is not JsonArray)
        {
            return obj;
        }

        var copy = obj.DeepClone().AsObject();
        var ns = copy["metadata"]!["namespace"]?.GetValue<string>();
        foreach (var owner in copy["metadata"]!["ownerReferences"]!.AsArray().OfType<JsonObject>().Where(o => o["uid"] is null))
        {
            var found = server.GetObject(owner["apiVersion"]?.GetValue<string>() ?? "", owner["kind"]?.GetValue<string>() ?? "", owner["name"]?.GetValue<string>() ?? "", ns);
            if (found?["metadata"]?["uid"] is { } uid)
            {
                owner["uid"] = uid.DeepClone();
            }
        }

        return copy;
    }

    public static FakeClusterScenario Load(string path) =>
        JsonSerializer.Deserialize<FakeClusterScenario>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} holds no scenario.");

    public static FakeClusterScenario Parse(string json) =>
        JsonSerializer.Deserialize<FakeClusterScenario>(json, Json) ?? throw new InvalidDataException("The JSON holds no scenario.");

    /// <summary>
    /// Seeds <paramref name="server"/>: namespaces, storage classes and profiles, CDI, HCO, objects,
    /// denials, then the upload proxy. Blocks while the proxy starts; prefer <see cref="ApplyToAsync"/>.
    /// </summary>
    public void ApplyTo(FakeApiServer server) => ApplyToAsync(server).GetAwaiter().GetResult();

    /// <summary>Seeds <paramref name="server"/> as <see cref="ApplyTo"/> does, starting the upload proxy without blocking.</summary>
    public async Task ApplyToAsync(FakeApiServer server)
    {
        Seed(server);
        if (UploadProxy is { } proxy)
        {
            var started = await server.StartUploadProxyAsync(proxy.ToOptions()).ConfigureAwait(false);
            proxy.ApplyFaults(started.Faults);
        }
    }

    private void Seed(FakeApiServer server)
    {
        server.ControllerDelay = TimeSpan.FromMilliseconds(ControllerDelayMilliseconds);
        if (DataVolumeStepDelayMilliseconds is { } step)
        {
            server.DataVolumeStepDelay = TimeSpan.FromMilliseconds(step);
        }

        server.DataVolumeWebhook = DataVolumeWebhook;
        foreach (var failure in ImportFailures)
        {
            server.FailImport(failure.Namespace, failure.Name, failure.ToFailure());
        }

        foreach (var upload in CompleteUploads)
        {
            server.CompleteUpload(upload.Namespace, upload.Name);
        }

        foreach (var (provisioner, message) in FailingProvisioners)
        {
            server.FailProvisioning(provisioner, message);
        }

        foreach (var ns in Namespaces)
        {
            if (server.GetObject("v1", "Namespace", ns) is null)
            {
                server.AddNamespace(ns);
            }
        }

        foreach (var sc in StorageClasses)
        {
            server.AddStorageClass(sc.Name, sc.Provisioner, sc.Default, sc.VolumeBindingMode);
        }

        foreach (var profile in StorageProfiles)
        {
            server.AddStorageProfile(profile.StorageClass, [.. profile.ClaimPropertySets.Select(s => (s.AccessMode, s.VolumeMode))]);
        }

        if (Cdi is { } cdi)
        {
            server.InstallCdi(cdi.Version, cdi.ConfigAuthority, cdi.UploadProxyUrl);
        }

        if (HyperConverged is { } hco)
        {
            server.InstallHyperConverged(hco.ScratchSpaceStorageClass, hco.Namespace, hco.Name);
        }

        // Quotas and limits first: the controllers start on the first DataVolume seeded, and a quota
        // seeded after the claims they make would not have charged them (it counts by deltas).
        foreach (var obj in Objects.OrderBy(o => o["kind"]?.GetValue<string>() is "ResourceQuota" or "LimitRange" ? 0 : 1))
        {
            server.PutObject(WithOwnerUids(server, obj));
        }

        foreach (var denial in Denials)
        {
            server.Deny(denial.Verb, denial.Resource, denial.Group, denial.User);
        }
    }
}

/// <summary>A StorageClass in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioStorageClass
{
    public required string Name { get; init; }

    public string Provisioner { get; init; } = "example.com/csi";

    /// <summary>Whether it carries the default-class annotation.</summary>
    public bool Default { get; init; }

    public string VolumeBindingMode { get; init; } = "Immediate";
}

/// <summary>A StorageProfile in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioStorageProfile
{
    public required string StorageClass { get; init; }

    public IReadOnlyList<ScenarioClaimPropertySet> ClaimPropertySets { get; init; } = [];
}

/// <summary>One access mode and volume mode a StorageProfile offers.</summary>
public sealed record ScenarioClaimPropertySet
{
    public string AccessMode { get; init; } = "ReadWriteOnce";

    public string VolumeMode { get; init; } = "Filesystem";
}

/// <summary>The CDI install in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioCdi
{
    public string Version { get; init; } = "v1.66.0";

    public bool ConfigAuthority { get; init; } = true;

    public string? UploadProxyUrl { get; init; } = "cdi-uploadproxy.cdi.svc";
}

/// <summary>The HyperConverged object in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioHyperConverged
{
    public string? ScratchSpaceStorageClass { get; init; }

    public string Namespace { get; init; } = "kubevirt-hyperconverged";

    public string Name { get; init; } = "kubevirt-hyperconverged";
}

/// <summary>A <see cref="FakeApiServer.Deny"/> in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioDenial
{
    public required string Verb { get; init; }

    public required string Resource { get; init; }

    public string? Group { get; init; }

    public string? User { get; init; }
}

/// <summary>
/// A scripted importer failure in a <see cref="FakeClusterScenario"/>: a message (with reason and
/// restarts), or one of CDI's own, <c>tooSmall</c> or <c>checksumMismatch</c>.
/// </summary>
public sealed record ScenarioImportFailure
{
    public string Namespace { get; init; } = "default";

    public required string Name { get; init; }

    public string Reason { get; init; } = "Error";

    public string? Message { get; init; }

    /// <summary>Failures before the import goes through; it keeps failing when absent.</summary>
    public int? Restarts { get; init; }

    public ScenarioTooSmall? TooSmall { get; init; }

    public ScenarioChecksumMismatch? ChecksumMismatch { get; init; }

    public FakeImportFailure ToFailure() => (TooSmall, ChecksumMismatch, Message) switch
    {
        ({ } small, null, _) => FakeImportFailure.TooSmall(small.VirtualSize, small.AvailableSize, Restarts),
        (null, { } checksum, _) => FakeImportFailure.ChecksumMismatch(checksum.Algorithm, checksum.Expected, checksum.Calculated),
        (null, null, { } message) => new FakeImportFailure { Reason = Reason, Message = message, Restarts = Restarts },
        _ => throw new InvalidDataException($"The import failure for {Namespace}/{Name} needs exactly one of message, tooSmall or checksumMismatch."),
    };
}

/// <summary>The sizes in a too-small-PVC failure.</summary>
public sealed record ScenarioTooSmall
{
    public required long VirtualSize { get; init; }

    public required long AvailableSize { get; init; }
}

/// <summary>The checksums in a checksum-mismatch failure.</summary>
public sealed record ScenarioChecksumMismatch
{
    public string Algorithm { get; init; } = "sha256";

    public required string Expected { get; init; }

    public required string Calculated { get; init; }
}

/// <summary>A DataVolume named in a <see cref="FakeClusterScenario"/>.</summary>
public sealed record ScenarioDataVolumeName
{
    public string Namespace { get; init; } = "default";

    public required string Name { get; init; }
}

/// <summary>
/// The upload proxy in a <see cref="FakeClusterScenario"/>: its options (see
/// <see cref="FakeUploadProxyOptions"/>) and the faults it starts with (see <see cref="UploadFaults"/>).
/// </summary>
public sealed record ScenarioUploadProxy
{
    /// <summary>Whether upload-async exists; false plays a CDI from before it.</summary>
    public bool Async { get; init; } = true;

    public int? ReadyTimeoutMilliseconds { get; init; }

    public int? ReadyPollMilliseconds { get; init; }

    public int? AsyncCompletionDelayMilliseconds { get; init; }

    /// <summary>Tokens expire this long after issue (tokens expiring early); their own 5 minutes when absent.</summary>
    public int? TokenLifetimeMilliseconds { get; init; }

    public int? TokenLeewayMilliseconds { get; init; }

    public ScenarioResetConnections? ResetConnections { get; init; }

    public ScenarioServiceUnavailable? ServiceUnavailable { get; init; }

    public ScenarioSlowReads? SlowReads { get; init; }

    public IReadOnlyList<ScenarioNotReady> NotReady { get; init; } = [];

    public FakeUploadProxyOptions ToOptions()
    {
        var defaults = new FakeUploadProxyOptions();
        static TimeSpan? Millis(int? value) => value is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        return defaults with
        {
            OfferAsync = Async,
            ReadyTimeout = Millis(ReadyTimeoutMilliseconds) ?? defaults.ReadyTimeout,
            ReadyPollInterval = Millis(ReadyPollMilliseconds) ?? defaults.ReadyPollInterval,
            AsyncCompletionDelay = Millis(AsyncCompletionDelayMilliseconds) ?? defaults.AsyncCompletionDelay,
            TokenLifetime = Millis(TokenLifetimeMilliseconds),
            TokenLeeway = Millis(TokenLeewayMilliseconds) ?? defaults.TokenLeeway,
        };
    }

    public void ApplyFaults(UploadFaults faults)
    {
        if (ResetConnections is { } reset)
        {
            faults.ResetConnections(reset.AfterBytes, reset.Uploads);
        }

        if (ServiceUnavailable is { } unavailable)
        {
            faults.RespondServiceUnavailable(unavailable.Requests, unavailable.Body);
        }

        if (SlowReads is { } slow)
        {
            faults.SlowReads(TimeSpan.FromMilliseconds(slow.DelayMilliseconds), slow.ChunkBytes);
        }

        foreach (var hold in NotReady)
        {
            faults.HoldNotReady(TimeSpan.FromMilliseconds(hold.Milliseconds), hold.Namespace, hold.Name);
        }
    }
}

/// <summary>Connections reset mid-body in a <see cref="ScenarioUploadProxy"/>.</summary>
public sealed record ScenarioResetConnections
{
    public required long AfterBytes { get; init; }

    public int Uploads { get; init; } = 1;
}

/// <summary>Requests answered 503 in a <see cref="ScenarioUploadProxy"/>.</summary>
public sealed record ScenarioServiceUnavailable
{
    public int Requests { get; init; } = 1;

    public string Body { get; init; } = "";
}

/// <summary>A slow volume in a <see cref="ScenarioUploadProxy"/>.</summary>
public sealed record ScenarioSlowReads
{
    public required int DelayMilliseconds { get; init; }

    public int ChunkBytes { get; init; } = 64 * 1024;
}

/// <summary>
/// An upload pod kept not ready in a <see cref="ScenarioUploadProxy"/>, from when the proxy first
/// finds it ready; without namespace and name it applies to every PVC.
/// </summary>
public sealed record ScenarioNotReady
{
    public string? Namespace { get; init; }

    public string? Name { get; init; }

    public required int Milliseconds { get; init; }
}
