using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// The controllers whose reactions CdiTools depends on, reduced to the rules CDI v1.66 and the
/// HyperConverged operator follow for the scratch-space setting (see the design's CDI facts).
/// They reconcile the whole state after any change until nothing more changes, so the order of
/// events does not matter, and they write through the same commit path as requests.
/// </summary>
internal sealed class Controllers : IDisposable
{
    private const string ConfigAuthorityAnnotation = "cdi.kubevirt.io/configAuthority";
    private static readonly Version StatusIgnoresDefaultClassSince = new(1, 65, 0);

    private readonly FakeApiServer server;
    private readonly FakeControllers enabled;
    private readonly object reconcileGate = new();
    private bool running = true;
    private bool scheduled;
    private bool disposed;

    public Controllers(FakeApiServer server, FakeControllers enabled)
    {
        this.server = server;
        this.enabled = enabled;
    }

    public TimeSpan Delay { get; set; }

    public bool Running
    {
        get => Volatile.Read(ref running);
        set
        {
            Volatile.Write(ref running, value);
            if (value)
            {
                Notify();
            }
        }
    }

    /// <summary>
    /// The class CDIConfig's status reports: the configured one if that StorageClass exists; else,
    /// before CDI v1.65, the cluster's default class; else none.
    /// </summary>
    public static string ScratchSpaceClass(FakeApiServer server, JsonObject cdiConfig)
    {
        var storageClasses = server.Catalog.Find("storage.k8s.io", "v1", "storageclasses")!;
        var configured = cdiConfig["spec"]?["scratchSpaceStorageClass"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(configured) && server.Store.Get(storageClasses, "", configured) is not null)
        {
            return configured;
        }

        if (CdiVersion(server) is { } version && version < StatusIgnoresDefaultClassSince)
        {
            return DefaultStorageClass(server) ?? "";
        }

        return "";
    }

    /// <summary>
    /// The default StorageClass as the DefaultStorageClass admission plugin picks it: annotated
    /// default (GA or beta annotation), newest first, then by name.
    /// </summary>
    public static string? DefaultStorageClass(FakeApiServer server)
    {
        var storageClasses = server.Catalog.Find("storage.k8s.io", "v1", "storageclasses")!;
        return server.Store.List(storageClasses, null)
            .Where(sc => sc["metadata"]?["annotations"] is JsonObject annotations
                && (annotations["storageclass.kubernetes.io/is-default-class"]?.GetValue<string>() == "true"
                    || annotations["storageclass.beta.kubernetes.io/is-default-class"]?.GetValue<string>() == "true"))
            .OrderByDescending(sc => sc["metadata"]?["creationTimestamp"]?.GetValue<string>(), StringComparer.Ordinal)
            .ThenBy(ObjectStore.NameOf, StringComparer.Ordinal)
            .Select(ObjectStore.NameOf)
            .FirstOrDefault();
    }

    /// <summary>Called after every change; reacts now, later, or not at all as the settings say.</summary>
    public void Notify()
    {
        if (enabled == FakeControllers.None || !Running || Volatile.Read(ref disposed))
        {
            return;
        }

        var delay = Delay;
        if (delay <= TimeSpan.Zero)
        {
            Reconcile();
            return;
        }

        lock (reconcileGate)
        {
            if (scheduled)
            {
                return;
            }

            scheduled = true;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(delay).ConfigureAwait(false);
            lock (reconcileGate)
            {
                scheduled = false;
            }

            if (Running && !Volatile.Read(ref disposed))
            {
                Reconcile();
            }
        });
    }

    public void ReconcileNow()
    {
        if (Running && !Volatile.Read(ref disposed))
        {
            Reconcile();
        }
    }

    public void Dispose() => Volatile.Write(ref disposed, true);

    private static Version? CdiVersion(FakeApiServer server)
    {
        var cdi = FirstCdi(server);
        var text = cdi?["status"]?["observedVersion"]?.GetValue<string>();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        text = text.TrimStart('v');
        var cut = text.IndexOfAny(['-', '+']);
        return Version.TryParse(cut >= 0 ? text[..cut] : text, out var version) ? version : null;
    }

    private static JsonObject? FirstCdi(FakeApiServer server) =>
        server.Store.List(server.Catalog.Find("cdi.kubevirt.io", "v1beta1", "cdis")!, null).FirstOrDefault();

    private void Reconcile()
    {
        lock (reconcileGate)
        {
            // Each pass may feed the next (HCO -> CDI CR -> CDIConfig spec -> status); a bound
            // keeps a rule that never settles from spinning forever.
            for (var pass = 0; pass < 20; pass++)
            {
                var changed = false;
                lock (server.Store.Gate)
                {
                    if (enabled.HasFlag(FakeControllers.HyperConverged))
                    {
                        changed |= ReconcileHyperConverged();
                    }

                    if (enabled.HasFlag(FakeControllers.CdiOperator))
                    {
                        changed |= ReconcileCdiConfigSpec();
                    }

                    if (enabled.HasFlag(FakeControllers.CdiConfigStatus))
                    {
                        changed |= ReconcileCdiConfigStatus();
                    }
                }

                if (!changed)
                {
                    return;
                }
            }
        }
    }

    private ApiResource Resource(string group, string plural) => server.Catalog.Find(group, "v1beta1", plural)!;

    /// <summary>HCO owns <c>CDI.spec.config.scratchSpaceStorageClass</c>: set from its own spec, removed when unset.</summary>
    private bool ReconcileHyperConverged()
    {
        var hco = server.Store.List(Resource("hco.kubevirt.io", "hyperconvergeds"), null).FirstOrDefault();
        var cdis = Resource("cdi.kubevirt.io", "cdis");
        var cdi = FirstCdi(server);
        if (hco is null || cdi is null)
        {
            return false;
        }

        var wanted = hco["spec"]?["scratchSpaceStorageClass"]?.GetValue<string>();
        var next = cdi.DeepClone().AsObject();
        var spec = next["spec"] as JsonObject ?? [];
        next["spec"] = spec;
        var config = spec["config"] as JsonObject ?? [];
        spec["config"] = config;
        if (string.IsNullOrEmpty(wanted))
        {
            config.Remove("scratchSpaceStorageClass");
        }
        else
        {
            config["scratchSpaceStorageClass"] = wanted;
        }

        return !ReferenceEquals(server.Commit(cdis, cdi, next), cdi);
    }

    /// <summary>
    /// CDI's operator, when the CDI CR carries the configAuthority annotation, makes
    /// <c>cdiconfig/config .spec</c> equal <c>CDI.spec.config</c>; it creates the CDIConfig if missing.
    /// </summary>
    private bool ReconcileCdiConfigSpec()
    {
        var cdi = FirstCdi(server);
        if (cdi is null)
        {
            return false;
        }

        var cdiConfigs = Resource("cdi.kubevirt.io", "cdiconfigs");
        var config = server.Store.Get(cdiConfigs, "", "config");
        var authority = cdi["metadata"]?["annotations"] is JsonObject annotations && annotations.ContainsKey(ConfigAuthorityAnnotation);
        if (config is null)
        {
            var created = new JsonObject
            {
                ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
                ["kind"] = "CDIConfig",
                ["metadata"] = new JsonObject { ["name"] = "config" },
                ["spec"] = authority ? cdi["spec"]?["config"]?.DeepClone() ?? new JsonObject() : new JsonObject(),
                ["status"] = new JsonObject(),
            };
            FakeApiServer.Stamp(cdiConfigs, created);
            server.Store.Put(cdiConfigs, created);
            return true;
        }

        if (!authority)
        {
            return false;
        }

        var next = config.DeepClone().AsObject();
        next["spec"] = cdi["spec"]?["config"]?.DeepClone() ?? new JsonObject();
        return !ReferenceEquals(server.Commit(cdiConfigs, config, next), config);
    }

    private bool ReconcileCdiConfigStatus()
    {
        var cdiConfigs = Resource("cdi.kubevirt.io", "cdiconfigs");
        var config = server.Store.Get(cdiConfigs, "", "config");
        if (config is null)
        {
            return false;
        }

        var wanted = ScratchSpaceClass(server, config);
        if (config["status"]?["scratchSpaceStorageClass"]?.GetValue<string>() == wanted)
        {
            return false;
        }

        var next = config.DeepClone().AsObject();
        var status = next["status"] as JsonObject ?? [];
        next["status"] = status;
        status["scratchSpaceStorageClass"] = wanted;
        return !ReferenceEquals(server.Commit(cdiConfigs, config, next), config);
    }
}
