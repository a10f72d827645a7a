using System.Text.Json.Nodes;
using CdiTools.Cluster.Models;
using k8s.Models;

namespace CdiTools.Cluster.Scratch;

/// <summary>The object whose scratch class setting sticks, and why it is that one.</summary>
public sealed record ScratchConfigOwner(CdiConfigOwnerKind Kind, string Name, string? Namespace, string Reason)
{
    /// <summary>"HyperConverged kubevirt-hyperconverged/kubevirt-hyperconverged", "CDI cdi", "CDIConfig config".</summary>
    public string Description => Kind switch
    {
        CdiConfigOwnerKind.HyperConverged => $"HyperConverged {Namespace}/{Name}",
        CdiConfigOwnerKind.CdiCustomResource => $"CDI {Name}",
        _ => $"CDIConfig {Name}",
    };

    /// <summary>The field that holds the setting on the owner.</summary>
    public string Field => Kind == CdiConfigOwnerKind.CdiCustomResource ? "spec.config.scratchSpaceStorageClass" : "spec.scratchSpaceStorageClass";
}

/// <summary>Which class scratch PVCs get on a cluster, or for one DataVolume, and how that follows from CDI's rules.</summary>
public sealed record ScratchStorageClassReport
{
    public required ScratchConfigOwner Owner { get; init; }

    /// <summary>The class set on the owner; null when none is.</summary>
    public string? Configured { get; init; }

    /// <summary>CDIConfig's status.scratchSpaceStorageClass; null when empty.</summary>
    public string? Effective { get; init; }

    /// <summary>The CDI release the CDI CR reports, as it reports it.</summary>
    public string? CdiVersion { get; init; }

    public string? DefaultStorageClass { get; init; }

    /// <summary>"CDI v1.65.0 and later" or "CDI before v1.65.0": which of CDI's rule sets applies.</summary>
    public required string Rules { get; init; }

    public required IReadOnlyList<ResolutionStep> Resolution { get; init; }

    /// <summary>The DataVolume (or PVC) asked about, as namespace/name; null for the cluster-wide answer.</summary>
    public string? DataVolume { get; init; }

    /// <summary>For a DataVolume: the class its scratch PVC gets (null: none, so admission's default).</summary>
    public string? ScratchClass { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The configured class names no StorageClass, so CDI ignores it.</summary>
    public bool ConfiguredClassMissing { get; init; }

    /// <summary>The class scratch PVCs get (for a DataVolume: its scratch class) offers only Block volumes, so they cannot bind.</summary>
    public bool EffectiveClassBlockOnly { get; init; }
}

/// <summary>The cluster facts that decide a scratch PVC's class: CDI's release, CDIConfig's status and the default class.</summary>
public sealed record ScratchContext(CdiVersion? Release, string? Effective, string? DefaultClass)
{
    /// <summary>The class the scratch PVC of a DataVolume asking for <paramref name="dataVolumeClass"/> gets; null when none at all.</summary>
    /// <remarks>CDIConfig's status already holds the pre-v1.65 fallback to the default class; after it, the DataVolume's class, then admission's default.</remarks>
    public string? ScratchClassFor(string? dataVolumeClass) => Effective ?? dataVolumeClass ?? DefaultClass;
}

/// <summary>What setting (or clearing) the scratch class will do, worked out before anything is written.</summary>
public sealed record ScratchChangePlan
{
    public required ScratchConfigOwner Owner { get; init; }

    /// <summary>The class to set; null to clear the setting.</summary>
    public string? Class { get; init; }

    public required bool ClassExists { get; init; }

    /// <summary>True when the class's StorageProfile offers only Block volumes, which scratch space cannot use.</summary>
    public bool BlockOnly { get; init; }

    /// <summary>What CDIConfig's status should show once CDI has applied the change (null for "").</summary>
    public string? ExpectedStatus { get; init; }

    /// <summary>What CDI will use instead when the class does not exist (or when clearing).</summary>
    public required string Consequence { get; init; }

    public required string Patch { get; init; }
}

/// <summary>
/// Reads and sets the storage class CDI gives scratch PVCs, on the object that really owns the
/// setting: the HyperConverged CR where one exists, else the CDI CR when it is CDIConfig's authority,
/// else CDIConfig (older CDI). Editing CDIConfig directly on current CDI is reverted by its operator.
/// </summary>
public sealed class ScratchStorageClassService(CdiApi api)
{
    private const int ConflictRetries = 5;

    /// <summary>The cluster-wide answer, or for one DataVolume (or, failing that, a PVC of that name).</summary>
    public async Task<ScratchStorageClassReport> DescribeAsync(string? dataVolume, string? @namespace, CancellationToken cancellationToken)
    {
        var cluster = await ReadAsync(cancellationToken).ConfigureAwait(false);
        string? target = null, dataVolumeClass = null;
        if (dataVolume is not null)
        {
            var ns = api.Connection.NamespaceOr(@namespace);
            target = $"{ns}/{dataVolume}";
            if (await api.GetDataVolumeAsync(dataVolume, ns, cancellationToken).ConfigureAwait(false) is { } found)
            {
                dataVolumeClass = found.RequestedStorageClass();
            }
            else if (await api.GetPersistentVolumeClaimAsync(dataVolume, ns, cancellationToken).ConfigureAwait(false) is { } claim)
            {
                dataVolumeClass = claim.Spec?.StorageClassName;
            }
            else
            {
                throw new ClusterException("DataVolumeNotFound", ClusterErrorKind.NotFound, $"There is no DataVolume or PersistentVolumeClaim {target}.");
            }
        }

        return await DescribeAsync(cluster, target, dataVolumeClass, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The answer for a DataVolume that need not exist yet: <paramref name="target"/> (namespace/name) asking for <paramref name="dataVolumeClass"/>.</summary>
    public async Task<ScratchStorageClassReport> DescribeForAsync(string target, string? dataVolumeClass, CancellationToken cancellationToken) =>
        await DescribeAsync(await ReadAsync(cancellationToken).ConfigureAwait(false), target, dataVolumeClass, cancellationToken).ConfigureAwait(false);

    private async Task<ScratchStorageClassReport> DescribeAsync(ClusterView cluster, string? target, string? dataVolumeClass, CancellationToken cancellationToken)
    {
        var warnings = new List<string>(cluster.Warnings);
        var steps = ScratchStorageClassRules.Resolve(cluster.Configured, cluster.ClassNames, cluster.DefaultClass, cluster.Release, target is not null, dataVolumeClass);
        var deciding = steps.Single(s => s.Applies);
        string? scratchClass = null;
        if (target is not null)
        {
            scratchClass = new ScratchContext(cluster.Release, cluster.Effective, cluster.DefaultClass).ScratchClassFor(dataVolumeClass);
        }

        var configuredMissing = cluster.Configured is { } configured && !cluster.ClassNames.Contains(configured);
        if (configuredMissing)
        {
            warnings.Add($"The configured scratch class '{cluster.Configured}' does not exist, so CDI ignores it; scratch PVCs get: {deciding.Value} ({deciding.Rule}).");
        }

        var effective = cluster.Effective ?? (target is null ? null : scratchClass);
        var blockOnly = effective is not null && await IsBlockOnlyAsync(effective, cancellationToken).ConfigureAwait(false);
        if (blockOnly)
        {
            warnings.Add($"The StorageProfile of '{effective}' offers only Block volumes; scratch space needs a Filesystem volume, so scratch PVCs will not bind.");
        }

        return new ScratchStorageClassReport
        {
            Owner = cluster.Owner,
            Configured = cluster.Configured,
            Effective = cluster.Effective,
            CdiVersion = cluster.VersionText,
            DefaultStorageClass = cluster.DefaultClass,
            Rules = ScratchStorageClassRules.FallsBackToDefaultClass(cluster.Release) ? "CDI before v1.65.0" : "CDI v1.65.0 and later",
            Resolution = steps,
            DataVolume = target,
            ScratchClass = target is null ? null : scratchClass,
            ConfiguredClassMissing = configuredMissing,
            EffectiveClassBlockOnly = blockOnly,
            Warnings = warnings,
        };
    }

    /// <summary>
    /// What deciding the scratch class of many DataVolumes needs, read once; null when the
    /// cluster-scoped CDI objects cannot be read (not allowed, or CDI absent), which only leaves
    /// the scratch class unknown. <paramref name="unavailable"/> hears why.
    /// </summary>
    public async Task<ScratchContext?> ContextOrNullAsync(Action<string>? unavailable, CancellationToken cancellationToken)
    {
        try
        {
            var cluster = await ReadAsync(cancellationToken).ConfigureAwait(false);
            return new ScratchContext(cluster.Release, cluster.Effective, cluster.DefaultClass);
        }
        catch (ClusterException e) when (e.Kind is ClusterErrorKind.Forbidden or ClusterErrorKind.NotFound)
        {
            unavailable?.Invoke(e.Message);
            return null;
        }
    }

    // Kubernetes names are case-sensitive; "Fast" for "fast" is a slip worth naming.
    private static string CaseHint(string storageClass, IEnumerable<string> classNames) =>
        classNames.FirstOrDefault(name => string.Equals(name, storageClass, StringComparison.OrdinalIgnoreCase)) is { } near
            ? $" StorageClass names are case-sensitive: did you mean '{near}'?"
            : string.Empty;

    /// <summary>Works out what setting <paramref name="storageClass"/> (or clearing, for null) does, without writing.</summary>
    public async Task<ScratchChangePlan> PlanAsync(string? storageClass, CancellationToken cancellationToken)
    {
        var cluster = await ReadAsync(cancellationToken).ConfigureAwait(false);
        var exists = storageClass is null || cluster.ClassNames.Contains(storageClass);
        var expected = ScratchStorageClassRules.ExpectedStatus(storageClass, cluster.ClassNames, cluster.DefaultClass, cluster.Release);
        var fallback = ScratchStorageClassRules.FallsBackToDefaultClass(cluster.Release)
            ? cluster.DefaultClass is { } def ? $"the cluster's default class '{def}'" : "each DataVolume's own class (there is no default class)"
            : "each DataVolume's own class (CDI v1.65.0 and later do not fall back to the default class)";
        var consequence = storageClass is null
            ? $"Scratch PVCs will get {fallback}."
            : exists ? $"Scratch PVCs will get '{storageClass}'."
            : $"There is no StorageClass '{storageClass}': CDI ignores the setting and scratch PVCs get {fallback}.{CaseHint(storageClass!, cluster.ClassNames)}";

        return new ScratchChangePlan
        {
            Owner = cluster.Owner,
            Class = storageClass,
            ClassExists = exists,
            BlockOnly = storageClass is not null && exists && await IsBlockOnlyAsync(storageClass, cancellationToken).ConfigureAwait(false),
            ExpectedStatus = expected,
            Consequence = consequence,
            Patch = PatchFor(cluster.Owner, storageClass),
        };
    }

    /// <summary>
    /// Writes the plan's merge patch to its owner. A 409 means another writer got there first: the
    /// owner is read again and the change planned afresh, a few times.
    /// </summary>
    /// <returns>The plan that was written, which may differ from <paramref name="plan"/> after a retry.</returns>
    public async Task<ScratchChangePlan> ApplyAsync(ScratchChangePlan plan, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await api.MergePatchAsync(plan.Owner.Kind, plan.Owner.Name, plan.Owner.Namespace, plan.Patch, cancellationToken).ConfigureAwait(false);
                return plan;
            }
            catch (ClusterException e) when (e.Kind == ClusterErrorKind.Conflict && attempt < ConflictRetries)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
                plan = await PlanAsync(plan.Class, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Watches CDIConfig until its status shows what the plan expects; after <paramref name="timeout"/>
    /// the error says what the status shows instead and whether the owner's setting was overwritten.
    /// </summary>
    public async Task<CdiConfig> WaitAsync(ScratchChangePlan plan, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        CdiConfig? last = null;
        try
        {
            await foreach (var config in api.WatchCdiConfigAsync(deadline.Token).ConfigureAwait(false))
            {
                last = config;
                if (NullIfEmpty(config.Status?.ScratchSpaceStorageClass) == plan.ExpectedStatus)
                {
                    return config;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The timeout: explained below.
        }

        var now = await ReadAsync(cancellationToken).ConfigureAwait(false);
        var overwritten = now.Configured != plan.Class
            ? $" The setting on {now.Owner.Description} is now {(now.Configured is null ? "unset" : $"'{now.Configured}'")}: something above it (such as the HyperConverged operator) overwrote it."
            : string.Empty;
        throw new ClusterException(
            "ScratchClassNotApplied",
            ClusterErrorKind.Timeout,
            $"After {timeout.TotalSeconds:0} s CDIConfig's status.scratchSpaceStorageClass shows {Show(NullIfEmpty(last?.Status?.ScratchSpaceStorageClass))}, not {Show(plan.ExpectedStatus)}.{overwritten}");
    }

    private static string Show(string? value) => value is null ? "\"\"" : $"'{value}'";

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string PatchFor(ScratchConfigOwner owner, string? storageClass)
    {
        // JSON null in a merge patch removes the field.
        JsonNode setting = new JsonObject { ["scratchSpaceStorageClass"] = storageClass is null ? null : JsonValue.Create(storageClass) };
        var spec = owner.Kind == CdiConfigOwnerKind.CdiCustomResource ? new JsonObject { ["config"] = setting } : setting;
        return new JsonObject { ["spec"] = spec }.ToJsonString();
    }

    private async Task<bool> IsBlockOnlyAsync(string storageClass, CancellationToken cancellationToken)
    {
        var profile = await api.GetStorageProfileAsync(storageClass, cancellationToken).ConfigureAwait(false);
        var modes = profile?.ClaimPropertySets.Select(s => s.VolumeMode).ToList() ?? [];
        return modes.Count > 0 && modes.All(m => m == "Block");
    }

    private async Task<ClusterView> ReadAsync(CancellationToken cancellationToken)
    {
        var hyperConvergeds = await api.ListHyperConvergedsAsync(cancellationToken).ConfigureAwait(false);
        var cdis = await api.ListCdisAsync(cancellationToken).ConfigureAwait(false);
        var config = await api.GetCdiConfigAsync(cancellationToken).ConfigureAwait(false);
        var classes = await api.ListStorageClassesAsync(cancellationToken).ConfigureAwait(false);
        var warnings = new List<string>();

        var cdi = cdis.FirstOrDefault();
        if (cdi is null && config is null)
        {
            throw new ClusterException("CdiNotInstalled", ClusterErrorKind.NotFound, $"CDI is not installed on {api.Connection.Server}: there is neither a CDI custom resource nor cdiconfig/config.");
        }

        ScratchConfigOwner owner;
        string? configured;
        if (hyperConvergeds.FirstOrDefault() is { } hco)
        {
            if (hyperConvergeds.Count > 1)
            {
                warnings.Add($"There are {hyperConvergeds.Count} HyperConverged resources; using {hco.Metadata.NamespaceProperty}/{hco.Metadata.Name}.");
            }

            owner = new ScratchConfigOwner(CdiConfigOwnerKind.HyperConverged, hco.Metadata.Name, hco.Metadata.NamespaceProperty, "the HyperConverged operator manages CDI and writes its scratch class over the CDI custom resource");
            configured = hco.Spec?.ScratchSpaceStorageClass;
        }
        else if (cdi is { HasConfigAuthority: true })
        {
            owner = new ScratchConfigOwner(CdiConfigOwnerKind.CdiCustomResource, cdi.Metadata.Name, null, $"the CDI custom resource carries {CdiResources.ConfigAuthorityAnnotation}, so CDI's operator copies its spec.config over CDIConfig's spec");
            configured = cdi.Spec?.Config?.ScratchSpaceStorageClass;
        }
        else
        {
            owner = new ScratchConfigOwner(CdiConfigOwnerKind.CdiConfig, CdiResources.CdiConfigName, null, "this CDI has no config authority on its custom resource (CDI before v1.27.0), so CDIConfig's spec is read as it is");
            configured = config?.Spec?.ScratchSpaceStorageClass;
        }

        var versionText = cdi?.Status?.ObservedVersion;
        CdiVersion? release = global::CdiTools.Cluster.CdiVersion.TryParse(versionText, out var parsed) ? parsed : null;
        if (release is null)
        {
            warnings.Add(versionText is null
                ? "The CDI custom resource reports no version; CdiTools assumes the rules of CDI v1.65.0 and later."
                : $"The CDI version '{versionText}' is not a release number; CdiTools assumes the rules of CDI v1.65.0 and later.");
        }

        return new ClusterView(
            owner,
            NullIfEmpty(configured),
            NullIfEmpty(config?.Status?.ScratchSpaceStorageClass),
            release,
            versionText,
            classes.Select(c => c.Metadata.Name).ToHashSet(),
            DefaultClass(classes),
            warnings);
    }

    private static string? DefaultClass(IEnumerable<V1StorageClass> classes) =>
        classes
            .Where(c => IsMarkedDefault(c, CdiResources.DefaultStorageClassAnnotation) || IsMarkedDefault(c, CdiResources.BetaDefaultStorageClassAnnotation))
            // Where several are marked, admission takes the newest, as CDI's fallback does.
            .OrderByDescending(c => c.Metadata.CreationTimestamp)
            .ThenBy(c => c.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault()?.Metadata.Name;

    private static bool IsMarkedDefault(V1StorageClass storageClass, string annotation) =>
        storageClass.Metadata.Annotations?.TryGetValue(annotation, out var value) == true && value == "true";

    private sealed record ClusterView(
        ScratchConfigOwner Owner,
        string? Configured,
        string? Effective,
        CdiVersion? Release,
        string? VersionText,
        IReadOnlyCollection<string> ClassNames,
        string? DefaultClass,
        IReadOnlyList<string> Warnings);
}
