using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using CdiTools.Testing.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A Kubernetes API server for tests: real HTTPS on 127.0.0.1 with a certificate from its own test
/// CA, spoken to by the real KubernetesClient through a kubeconfig it writes. It stores objects as
/// JSON, keeps resourceVersions, answers conflicts, patches, watches and errors as the API server
/// does, validates CDI's custom resources against their CRD schemas, admits PVCs past the
/// namespace's ResourceQuotas and LimitRanges, and plays the CDI and HyperConverged controllers
/// whose reactions CdiTools depends on: the scratch-class settings, CDI's DataVolume lifecycle
/// with its validating webhook and its workers, Kubernetes' PV controller with its provisioners,
/// and its garbage collector.
/// </summary>
public sealed partial class FakeApiServer : IAsyncDisposable
{
    private const string CdiGroup = "cdi.kubevirt.io";
    private const string ConfigAuthorityAnnotation = "cdi.kubevirt.io/configAuthority";

    private readonly WebApplication app;
    private readonly TestCertificateAuthority authority;
    private readonly X509Certificate2 serverCertificate;
    private readonly ResourceCatalog catalog = ResourceCatalog.Instance;
    private readonly ObjectStore store = new();
    private readonly ConcurrentDictionary<string, string> tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeRequest> requests = new();
    private readonly ConcurrentQueue<FakeUploadToken> uploadTokens = new();
    private readonly List<(string Verb, string Resource, string? Group, string? User, string? Namespace)> denials = [];
    private readonly Dictionary<string, int> injectedConflicts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private readonly FakeClusterOptions options;
    private readonly Controllers controllers;
    private readonly DataVolumeController dataVolumes;
    private readonly GarbageCollector garbage;
    private readonly PersistentVolumeBinder volumes;

    private FakeApiServer(FakeClusterOptions options)
    {
        this.options = options;
        authority = TestCertificateAuthority.Create("CdiTools Fake API Server CA");
        serverCertificate = authority.IssueServerCertificate();
        Token = NewToken();
        ExecToken = NewToken();
        tokens[Token] = options.UserName;
        tokens[ExecToken] = options.UserName;
        Events = new EventRecorder(this);
        controllers = new Controllers(this, options.Controllers) { Delay = options.ControllerDelay };
        dataVolumes = new DataVolumeController(this, options.Controllers, options.DataVolumeStepDelay);
        garbage = new GarbageCollector(this, options.Controllers);
        volumes = new PersistentVolumeBinder(this, options.Controllers);

        // The quota controller gives back what a claim used, whichever path removed it.
        store.Removed += (resource, removed) =>
        {
            if (resource.Kind == "PersistentVolumeClaim")
            {
                StorageAdmission.Release(this, removed);
            }
        };

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,

                // Like the API server: a client certificate is asked for but not required, and
                // judged by the authenticator (401), not by failing the handshake.
                ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                ClientCertificateValidation = (_, _, _) => true,
            }));
        });
        app = builder.Build();
        app.Run(HandleAsync);

        foreach (var ns in options.Namespaces)
        {
            AddNamespace(ns);
        }
    }

    /// <summary>The server's root URL, such as <c>https://127.0.0.1:40123/</c>.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The bearer token that kubeconfigs carry; it authenticates as <see cref="FakeClusterOptions.UserName"/>.</summary>
    public string Token { get; }

    /// <summary>The token the exec credential plugin prints, distinct from <see cref="Token"/>.</summary>
    public string ExecToken { get; }

    /// <summary>The user that the server's credentials authenticate as.</summary>
    public string UserName => options.UserName;

    /// <summary>The CA certificate (PEM) that signs the server's certificate and the client certificates.</summary>
    public string CertificateAuthorityPem => authority.ToPem();

    /// <summary>The newest resourceVersion handed out.</summary>
    public long ResourceVersion => store.CurrentVersion;

    /// <summary>How long the simulated controllers wait before reacting (0 = synchronously after each write).</summary>
    public TimeSpan ControllerDelay
    {
        get => controllers.Delay;
        set => controllers.Delay = value;
    }

    /// <summary>When false the controllers do nothing; setting it back to true makes them catch up at once.</summary>
    public bool ControllersRunning
    {
        get => controllers.Running;
        set
        {
            controllers.Running = value;
            dataVolumes.Running = value;
            garbage.Running = value;
            volumes.Running = value;
        }
    }

    /// <summary>Requests received, in order of completion (a watch is listed when its stream starts).</summary>
    public IReadOnlyList<FakeRequest> Requests => [.. requests];

    /// <summary>Upload tokens handed out through UploadTokenRequests, for a fake upload proxy to check.</summary>
    public IReadOnlyList<FakeUploadToken> UploadTokens => [.. uploadTokens];

    public static async Task<FakeApiServer> StartAsync(FakeClusterOptions? options = null)
    {
        var server = new FakeApiServer(options ?? new FakeClusterOptions());
        await server.app.StartAsync().ConfigureAwait(false);
        var address = server.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseUri = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>
    /// Writes a kubeconfig with one cluster (the CA inline as certificate-authority-data), one user
    /// with the chosen credentials and one context, made current, and returns its full path.
    /// </summary>
    public string WriteKubeconfig(string path, string contextName = "fake", string? defaultNamespace = null, KubeconfigAuth auth = KubeconfigAuth.Token) =>
        Credentials.WriteKubeconfig(path, BaseUri, authority.Certificate, contextName, defaultNamespace, auth, Token, () => IssueClientCertificate(UserName), ExecToken);

    /// <summary>A client certificate (with its key) from the server's CA, authenticating as <paramref name="user"/>.</summary>
    public X509Certificate2 IssueClientCertificate(string user, params string[] groups) =>
        Credentials.IssueClientCertificate(authority.Certificate, user, groups);

    /// <summary>A new bearer token that authenticates as <paramref name="user"/>.</summary>
    public string AddToken(string user)
    {
        var token = NewToken();
        tokens[token] = user;
        return token;
    }

    /// <summary>A namespace, as <c>kubectl create namespace</c> makes it.</summary>
    public void AddNamespace(string name)
    {
        PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = new JsonObject { ["name"] = name },
        });
    }

    public void AddStorageClass(string name, string provisioner = "example.com/csi", bool isDefault = false, string volumeBindingMode = "Immediate")
    {
        var metadata = new JsonObject { ["name"] = name };
        if (isDefault)
        {
            metadata["annotations"] = new JsonObject { ["storageclass.kubernetes.io/is-default-class"] = "true" };
        }

        PutObject(new JsonObject
        {
            ["apiVersion"] = "storage.k8s.io/v1",
            ["kind"] = "StorageClass",
            ["metadata"] = metadata,
            ["provisioner"] = provisioner,
            ["reclaimPolicy"] = "Delete",
            ["volumeBindingMode"] = volumeBindingMode,
        });
    }

    /// <summary>A StorageProfile named like its class, with one claim property set per (access mode, volume mode) pair, as CDI computes them.</summary>
    public void AddStorageProfile(string storageClass, params (string AccessMode, string VolumeMode)[] claimPropertySets)
    {
        var sets = new JsonArray();
        foreach (var (accessMode, volumeMode) in claimPropertySets)
        {
            sets.Add(new JsonObject { ["accessModes"] = new JsonArray(accessMode), ["volumeMode"] = volumeMode });
        }

        var status = new JsonObject { ["storageClass"] = storageClass };
        if (GetObject("storage.k8s.io/v1", "StorageClass", storageClass)?["provisioner"] is JsonNode provisioner)
        {
            status["provisioner"] = provisioner.DeepClone();
        }

        status["claimPropertySets"] = sets;
        PutObject(new JsonObject
        {
            ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
            ["kind"] = "StorageProfile",
            ["metadata"] = new JsonObject { ["name"] = storageClass },
            ["spec"] = new JsonObject(),
            ["status"] = status,
        });
    }

    /// <summary>
    /// Installs CDI as its operator leaves it: the CDI CR <c>cdi</c> (Deployed, observedVersion
    /// <paramref name="version"/>, with the configAuthority annotation when asked) and
    /// <c>cdiconfig/config</c> with an empty spec and a computed status.
    /// </summary>
    public void InstallCdi(string version = "v1.66.0", bool configAuthority = true, string? uploadProxyUrl = "cdi-uploadproxy.cdi.svc")
    {
        var metadata = new JsonObject { ["name"] = "cdi" };
        if (configAuthority)
        {
            metadata["annotations"] = new JsonObject { [ConfigAuthorityAnnotation] = "" };
        }

        PutObject(new JsonObject
        {
            ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
            ["kind"] = "CDI",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject
            {
                ["imagePullPolicy"] = "IfNotPresent",
                ["infra"] = new JsonObject { ["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" } },
                ["workload"] = new JsonObject { ["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" } },
            },
            ["status"] = new JsonObject
            {
                ["phase"] = "Deployed",
                ["observedVersion"] = version,
                ["operatorVersion"] = version,
                ["targetVersion"] = version,
            },
        });

        // A running fake upload proxy is where uploads must go, whatever address was asked for.
        uploadProxyUrl = UploadProxy?.Address ?? uploadProxyUrl;
        var status = new JsonObject();
        if (uploadProxyUrl is not null)
        {
            status["uploadProxyURL"] = uploadProxyUrl;
        }

        status["filesystemOverhead"] = new JsonObject { ["global"] = "0.06" };
        var config = new JsonObject
        {
            ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
            ["kind"] = "CDIConfig",
            ["metadata"] = new JsonObject { ["name"] = "config" },
            ["spec"] = new JsonObject(),
            ["status"] = status,
        };
        lock (store.Gate)
        {
            status["scratchSpaceStorageClass"] = Controllers.ScratchSpaceClass(this, config);
        }

        PutObject(config);
    }

    public void InstallHyperConverged(string? scratchSpaceStorageClass = null, string ns = "kubevirt-hyperconverged", string name = "kubevirt-hyperconverged")
    {
        if (GetObject("v1", "Namespace", ns) is null)
        {
            AddNamespace(ns);
        }

        var spec = new JsonObject();
        if (scratchSpaceStorageClass is not null)
        {
            spec["scratchSpaceStorageClass"] = scratchSpaceStorageClass;
        }

        PutObject(new JsonObject
        {
            ["apiVersion"] = "hco.kubevirt.io/v1beta1",
            ["kind"] = "HyperConverged",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = spec,
            ["status"] = new JsonObject(),
        });
    }

    /// <summary>A copy of a stored object, or null.</summary>
    public JsonObject? GetObject(string apiVersion, string kind, string name, string? ns = null)
    {
        var resource = ResourceFor(apiVersion, kind);
        return store.Get(resource, resource.Namespaced ? ns ?? "default" : "", name)?.DeepClone().AsObject();
    }

    /// <summary>Copies of every stored object of a kind, in one namespace or all.</summary>
    public IReadOnlyList<JsonObject> ListObjects(string apiVersion, string kind, string? ns = null)
    {
        var resource = ResourceFor(apiVersion, kind);
        return [.. store.List(resource, resource.Namespaced ? ns : null).Select(o => o.DeepClone().AsObject())];
    }

    /// <summary>
    /// Stores any object as given (creating or replacing it), bypassing validation and RBAC but
    /// stamping uid, creationTimestamp, generation and a new resourceVersion as a write would.
    /// </summary>
    public void PutObject(JsonObject obj)
    {
        var copy = obj.DeepClone().AsObject();
        var resource = ResourceFor(copy["apiVersion"]?.GetValue<string>() ?? "", copy["kind"]?.GetValue<string>() ?? "");
        var metadata = copy["metadata"] as JsonObject ?? throw new ArgumentException("The object has no metadata.", nameof(obj));
        if (resource.Namespaced)
        {
            metadata["namespace"] ??= "default";
        }
        else
        {
            metadata.Remove("namespace");
        }

        lock (store.Gate)
        {
            var current = store.Get(resource, ObjectStore.NamespaceOf(copy), ObjectStore.NameOf(copy));
            if (current is null)
            {
                Stamp(resource, copy);
                store.Put(resource, copy);
            }
            else
            {
                Commit(resource, current, copy);
            }
        }

        OnChanged();
    }

    /// <summary>Deletes a stored object at once, finalizers or not; returns whether it existed.</summary>
    public bool RemoveObject(string apiVersion, string kind, string name, string? ns = null)
    {
        var resource = ResourceFor(apiVersion, kind);
        var removed = store.Remove(resource, resource.Namespaced ? ns ?? "default" : "", name) is not null;
        OnChanged();
        return removed;
    }

    /// <summary>
    /// Refuses later requests of <paramref name="verb"/> (<c>get</c>, <c>list</c>, <c>watch</c>,
    /// <c>create</c>, <c>update</c>, <c>patch</c>, <c>delete</c>, <c>deletecollection</c> or <c>*</c>)
    /// on <paramref name="resource"/> (a plural such as <c>cdis</c>, <c>datavolumes/status</c>, or <c>*</c>)
    /// with 403 Forbidden, as RBAC would; <paramref name="group"/> null matches any group,
    /// <paramref name="user"/> null any user, <paramref name="inNamespace"/> null every namespace
    /// (a namespace given also denies listings across all namespaces, which need every one).
    /// </summary>
    public void Deny(string verb, string resource, string? group = null, string? user = null, string? inNamespace = null)
    {
        lock (denials)
        {
            denials.Add((verb, resource, group, user, inNamespace));
        }
    }

    /// <summary>Forgets every <see cref="Deny"/>.</summary>
    public void ClearDenials()
    {
        lock (denials)
        {
            denials.Clear();
        }
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> writes (update, patch, their status forms, and
    /// delete) to <paramref name="resource"/> (a plural such as <c>cdis</c>) answer 409 Conflict
    /// whatever resourceVersion they carry, and bumps the object's resourceVersion as the other
    /// writer's change would.
    /// </summary>
    public void InjectConflicts(string resource, int count)
    {
        lock (injectedConflicts)
        {
            injectedConflicts[resource] = count;
        }
    }

    /// <summary>
    /// Runs the enabled controllers now, whatever the delay, unless they are paused: the CDI and
    /// HCO ones to a settled state, the garbage collector, the PV controller, and the DataVolume
    /// steps that are due.
    /// </summary>
    public void ReconcileNow()
    {
        controllers.ReconcileNow();
        garbage.SweepNow();
        volumes.SweepNow();
        dataVolumes.ReconcileNow();
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        if (UploadProxy is { } proxy)
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }

        controllers.Dispose();
        dataVolumes.Dispose();
        garbage.Dispose();
        volumes.Dispose();
        store.Wake();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await app.StopAsync(patience.Token).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        serverCertificate.Dispose();
        authority.Dispose();
        stopping.Dispose();
    }

    internal ResourceCatalog Catalog => catalog;

    internal ObjectStore Store => store;

    internal EventRecorder Events { get; }

    internal PersistentVolumeBinder Volumes => volumes;

    internal ApiResource ResourceFor(string apiVersion, string kind) =>
        catalog.FindKind(apiVersion, kind) ?? throw new ArgumentException($"The fake API server does not serve {kind} in {apiVersion}.");

    /// <summary>
    /// Writes <paramref name="next"/> over <paramref name="current"/> the way the registry does:
    /// identity fields kept, generation bumped when anything but metadata (and status, for
    /// resources with a status subresource) changed, nothing written when nothing changed, and
    /// the object removed once it is being deleted and has no finalizers left.
    /// Callers hold the store's gate.
    /// </summary>
    internal JsonObject Commit(ApiResource resource, JsonObject current, JsonObject next, bool dryRun = false)
    {
        var meta = (JsonObject)next["metadata"]!;
        var old = (JsonObject)current["metadata"]!;
        foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name" })
        {
            if (old[field] is { } value)
            {
                meta[field] = value.DeepClone();
            }
            else
            {
                meta.Remove(field);
            }
        }

        meta["resourceVersion"] = old["resourceVersion"]?.DeepClone();
        if (resource.IsCustom && SpecChanged(resource, current, next))
        {
            meta["generation"] = JsonNumbers.AsLong(old["generation"]) + 1;
        }

        if (JsonNode.DeepEquals(current, next))
        {
            return current;
        }

        if (dryRun)
        {
            return next;
        }

        if (meta["deletionTimestamp"] is not null && (meta["finalizers"] is not JsonArray finalizers || finalizers.Count == 0))
        {
            store.Remove(resource, ObjectStore.NamespaceOf(current), ObjectStore.NameOf(current));
            return next;
        }

        return store.Put(resource, next);
    }

    /// <summary>Server-set fields of a new object.</summary>
    internal static void Stamp(ApiResource resource, JsonObject obj)
    {
        var meta = (JsonObject)obj["metadata"]!;
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Now();
        meta.Remove("deletionTimestamp");
        meta.Remove("deletionGracePeriodSeconds");
        meta.Remove("resourceVersion");
        if (resource.IsCustom)
        {
            meta["generation"] = 1;
        }
        else
        {
            meta.Remove("generation");
        }
    }

    /// <summary>After every write: the controllers and the garbage collector look at the new state.</summary>
    internal void OnChanged()
    {
        controllers.Notify();
        garbage.Notify();
        volumes.Notify();
        dataVolumes.Notify();
    }

    internal static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool SpecChanged(ApiResource resource, JsonObject current, JsonObject next)
    {
        foreach (var key in current.Select(p => p.Key).Union(next.Select(p => p.Key)).Distinct())
        {
            if (key is "metadata" or "apiVersion" or "kind" || (key == "status" && resource.HasStatusSubresource))
            {
                continue;
            }

            if (!JsonNode.DeepEquals(current[key], next[key]))
            {
                return true;
            }
        }

        return false;
    }

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}

/// <summary>An upload token the fake CDI upload API handed out.</summary>
public sealed record FakeUploadToken(string Token, string Namespace, string PvcName, DateTimeOffset Expires)
{
    /// <summary>When it was issued (its <c>iat</c> claim); CDI's tokens expire 5 minutes later.</summary>
    public DateTimeOffset Issued { get; init; } = Expires.AddMinutes(-5);
}
