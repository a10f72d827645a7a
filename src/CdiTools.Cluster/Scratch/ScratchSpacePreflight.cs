using System.Globalization;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Sizing;
using k8s.Models;

namespace CdiTools.Cluster.Scratch;

/// <summary>How much a <see cref="ScratchFinding"/> matters: an Error means the scratch PVC will not bind (or not be created).</summary>
public enum ScratchFindingSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>One thing the preflight found about a scratch PVC, with the numbers and what to do.</summary>
/// <param name="Id">A stable id (ScratchQuotaExceeded, ScratchNoMatchingPersistentVolume, ...).</param>
public sealed record ScratchFinding(string Id, ScratchFindingSeverity Severity, string Message, string Fix);

/// <summary>Whether the scratch PVC of a (planned) DataVolume's import will bind, where, and how big.</summary>
public sealed record ScratchSpaceReport
{
    /// <summary>namespace/name of the DataVolume; the name is "(planned)" when none was given.</summary>
    public required string DataVolume { get; init; }

    public required string? CdiVersion { get; init; }

    /// <summary>True when CDI makes a scratch PVC for this import (or may, by content CdiTools cannot see: then the worst is assumed).</summary>
    public required bool ScratchRequired { get; init; }

    public required string ScratchReason { get; init; }

    /// <summary>The scratch PVC's class by the release's rules; null when none resolves, so a PersistentVolume without a class must take it.</summary>
    public string? StorageClass { get; init; }

    public IReadOnlyList<ResolutionStep> Resolution { get; init; } = [];

    /// <summary>The scratch PVC's request in bytes, by the release's formula; 0 when no scratch PVC is made.</summary>
    public long Size { get; init; }

    /// <summary>The target PVC's request in bytes as CDI renders it (with the filesystem overhead for the storage API).</summary>
    public long? TargetSize { get; init; }

    public required IReadOnlyList<ScratchFinding> Findings { get; init; }

    /// <summary>No finding of severity Error.</summary>
    public bool Ready => Findings.All(f => f.Severity != ScratchFindingSeverity.Error);
}

/// <summary>
/// The preflight for a DataVolume's scratch PVC, as CDI would make it for the installed release:
/// its class, size and volume mode, and whether the namespace's ResourceQuotas and LimitRanges
/// let it be created, whether its class can provision a Filesystem volume, and, when no class
/// resolves, whether an Available PersistentVolume can take it.
/// </summary>
public sealed class ScratchSpacePreflight(CdiApi api)
{
    private const string NoProvisioner = "kubernetes.io/no-provisioner";
    private const string ClassQuotaSuffix = ".storageclass.storage.k8s.io/";

    /// <summary>
    /// Tests the DataVolume New-CdiDataVolume would make of <paramref name="request"/> (checked as
    /// CDI's webhook checks it). Its name may be empty: then it stands for any DataVolume of that
    /// spec; when it names a DataVolume that exists, its target PVC is counted as already made.
    /// </summary>
    public async Task<ScratchSpaceReport> TestRequestAsync(DataVolumeRequest request, CancellationToken cancellationToken)
    {
        var named = !string.IsNullOrEmpty(request.Name);
        var manifest = DataVolumeManifestBuilder.Build(named ? request : request with { Name = "preflight" }, api.Connection.NamespaceOr(request.Namespace));
        var dataVolume = manifest.DataVolume;
        var exists = named && await api.GetDataVolumeAsync(dataVolume.Metadata.Name, dataVolume.Metadata.NamespaceProperty, cancellationToken).ConfigureAwait(false) is not null;
        if (!named)
        {
            dataVolume.Metadata.Name = null;
        }

        return await TestAsync(dataVolume, exists, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Tests a DataVolume of the cluster as it is; one that has succeeded needs no scratch PVC any more.</summary>
    public async Task<ScratchSpaceReport> TestExistingAsync(string name, string? @namespace, CancellationToken cancellationToken)
    {
        var ns = api.Connection.NamespaceOr(@namespace);
        var dataVolume = await api.GetDataVolumeAsync(name, ns, cancellationToken).ConfigureAwait(false)
            ?? throw new ClusterException("DataVolumeNotFound", ClusterErrorKind.NotFound, $"There is no DataVolume {ns}/{name}; give a source (-Url, -Upload, ...) to test a planned one.");
        if (dataVolume.Status?.Phase == "Succeeded")
        {
            const string done = "Its import has finished (Succeeded), so CDI makes no scratch PVC for it any more";
            return new ScratchSpaceReport
            {
                DataVolume = $"{ns}/{name}",
                CdiVersion = null,
                ScratchRequired = false,
                ScratchReason = done,
                Findings = [new("ScratchNotRequired", ScratchFindingSeverity.Info, done + ".", "Nothing to do.")],
            };
        }

        return await TestAsync(dataVolume, exists: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Tests <paramref name="dataVolume"/>, which <paramref name="exists"/> says is already in the cluster (its target PVC then counts in the quota's used).</summary>
    public async Task<ScratchSpaceReport> TestAsync(DataVolume dataVolume, bool exists, CancellationToken cancellationToken)
    {
        var ns = api.Connection.NamespaceOr(dataVolume.Metadata?.NamespaceProperty);
        var name = string.IsNullOrEmpty(dataVolume.Metadata?.Name) ? "(planned)" : dataVolume.Metadata.Name;
        var target = $"{ns}/{name}";
        var cdi = (await api.ListCdisAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        CdiVersion? release = CdiVersion.TryParse(cdi?.Status?.ObservedVersion, out var parsed) ? parsed : null;
        var versionText = release?.ToString();
        var prediction = ScratchPrediction.For(dataVolume, release);
        var findings = new List<ScratchFinding>();
        if (prediction.RequiresScratch == false)
        {
            findings.Add(new("ScratchNotRequired", ScratchFindingSeverity.Info, $"CDI makes no scratch PVC for this import: {prediction.Reason}.", "Nothing to do."));
            return new ScratchSpaceReport { DataVolume = target, CdiVersion = versionText, ScratchRequired = false, ScratchReason = prediction.Reason, Findings = findings };
        }

        var reason = prediction.RequiresScratch is null ? $"{prediction.Reason} Assumed needed, the worse case." : prediction.Reason;
        var config = await api.GetCdiConfigAsync(cancellationToken).ConfigureAwait(false) ?? new CdiConfig();
        var classes = await api.ListStorageClassesAsync(cancellationToken).ConfigureAwait(false);
        var storage = dataVolume.RequestedStorage();
        var classReport = await new ScratchStorageClassService(api).DescribeForAsync(target, storage?.StorageClassName, cancellationToken).ConfigureAwait(false);
        var defaultClass = classReport.DefaultStorageClass;
        var targetClass = storage?.StorageClassName ?? defaultClass;
        var targetMode = storage?.VolumeMode ?? await ProfileVolumeModeAsync(targetClass, cancellationToken).ConfigureAwait(false) ?? "Filesystem";
        var mode = targetMode == "Block" ? PvcVolumeMode.Block : PvcVolumeMode.Filesystem;
        var targetOverhead = config.FilesystemOverheadFor(targetClass);
        long? targetSize = storage?.RequestedSize()?.ToInt64() is { } request
            ? PvcSize.Claim(request, mode, pvcApi: dataVolume.Spec?.Pvc is not null, targetOverhead, release)
            : null;

        var scratchClassName = classReport.ScratchClass;
        var scratchClass = classes.FirstOrDefault(c => c.Metadata.Name == scratchClassName);
        var size = targetSize is { } claim
            ? PvcSize.Scratch(claim, mode == PvcVolumeMode.Block ? 0 : targetOverhead, config.FilesystemOverheadFor(scratchClassName ?? defaultClass), release)
            : 0;
        var by = versionText is null ? "the current CDI rules (the cluster's CDI version cannot be read)" : $"CDI {versionText}";

        if (classReport.ConfiguredClassMissing)
        {
            findings.Add(new(
                "ScratchStorageClassMissing",
                ScratchFindingSeverity.Warning,
                $"The configured scratch class '{classReport.Configured}' does not exist, so under {by} the scratch PVC gets {(scratchClassName is null ? "no class at all" : $"'{scratchClassName}'")} instead.",
                $"Create StorageClass '{classReport.Configured}', or run Set-CdiScratchStorageClass with a class that exists (or -Clear)."));
        }

        if (classReport.EffectiveClassBlockOnly)
        {
            findings.Add(new(
                "ScratchClassNoFilesystem",
                ScratchFindingSeverity.Error,
                $"The scratch class '{scratchClassName}' offers only Block volumes (its StorageProfile), but a scratch PVC is always a Filesystem volume, even for a Block DataVolume.",
                "Run Set-CdiScratchStorageClass with a class that provisions Filesystem volumes, or add a Filesystem claim property set to the StorageProfile."));
        }

        if (scratchClass?.VolumeBindingMode == "WaitForFirstConsumer")
        {
            var constrained = IsNodeLocal(scratchClass);
            findings.Add(new(
                "ScratchWaitForFirstConsumer",
                constrained ? ScratchFindingSeverity.Warning : ScratchFindingSeverity.Info,
                constrained
                    ? $"The scratch class '{scratchClassName}' binds on the first consumer and its volumes are tied to a node ({scratchClass.Provisioner}): the scratch PVC and the target can land on different nodes, and the importer then cannot start."
                    : $"The scratch class '{scratchClassName}' binds on the first consumer: the scratch PVC binds once CDI's importer pod is scheduled.",
                constrained
                    ? "Point scratch space at a class that is not node-local (Set-CdiScratchStorageClass), or use the same node-local class for the DataVolume and scratch."
                    : "Nothing to do; a DataVolume of such a class also waits for its consumer unless -BindImmediately."));
        }

        if (scratchClassName is null || scratchClass?.Provisioner == NoProvisioner)
        {
            findings.Add(await PersistentVolumeFindingAsync(scratchClassName, size, targetMode == "Block", cancellationToken).ConfigureAwait(false));
        }

        var claims = new List<(string What, string? Class, long Size)>();
        if (!exists && targetSize is { } newTarget)
        {
            claims.Add(("the target PVC", targetClass, newTarget));
            if (UsesPopulator(dataVolume, classes.FirstOrDefault(c => c.Metadata.Name == targetClass)))
            {
                claims.Add(("CDI's prime PVC, as large as the target while the populator runs", targetClass, newTarget));
            }
        }

        claims.Add(("the scratch PVC", scratchClassName ?? defaultClass, size));
        foreach (var quota in await api.ListResourceQuotasAsync(ns, cancellationToken).ConfigureAwait(false))
        {
            findings.AddRange(QuotaFindings(quota, claims));
        }

        foreach (var limits in await api.ListLimitRangesAsync(ns, cancellationToken).ConfigureAwait(false))
        {
            foreach (var item in limits.Spec?.Limits?.Where(l => l.Type == "PersistentVolumeClaim") ?? [])
            {
                if (item.Max is { } max && max.TryGetValue("storage", out var cap) && cap.ToInt64() < size)
                {
                    findings.Add(new(
                        "ScratchLimitRangeExceeded",
                        ScratchFindingSeverity.Error,
                        $"LimitRange {ns}/{limits.Metadata.Name} caps a PVC at {cap} ({Bytes(cap.ToInt64())}), but the scratch PVC asks for {Bytes(size)}: the API server refuses to create it, and CDI's importer waits for it.",
                        $"Raise the LimitRange's max storage to at least {PvcSize.ToQuantity(size)}, or import into a namespace without this limit."));
                }
            }
        }

        return new ScratchSpaceReport
        {
            DataVolume = target,
            CdiVersion = versionText,
            ScratchRequired = true,
            ScratchReason = reason,
            StorageClass = scratchClassName,
            Resolution = classReport.Resolution,
            Size = size,
            TargetSize = targetSize,
            Findings = findings,
        };
    }

    private async Task<string?> ProfileVolumeModeAsync(string? storageClass, CancellationToken cancellationToken) =>
        storageClass is null ? null
        : (await api.GetStorageProfileAsync(storageClass, cancellationToken).ConfigureAwait(false))?.ClaimPropertySets.FirstOrDefault()?.VolumeMode;

    private async Task<ScratchFinding> PersistentVolumeFindingAsync(string? scratchClass, long size, bool blockTarget, CancellationToken cancellationToken) =>
        PersistentVolumeFinding(await api.ListPersistentVolumesAsync(cancellationToken).ConfigureAwait(false), scratchClass, size, blockTarget);

    /// <summary>
    /// Whether an Available PersistentVolume of <paramref name="scratchClass"/> (none: no class) can
    /// take a scratch PVC of <paramref name="size"/> bytes: an Info naming the smallest that fits, or
    /// an Error saying what volume to create.
    /// </summary>
    internal static ScratchFinding PersistentVolumeFinding(IEnumerable<V1PersistentVolume> volumes, string? scratchClass, long size, bool blockTarget)
    {
        var wanted = scratchClass ?? string.Empty;
        var fitting = volumes
            .Where(pv => pv.Status?.Phase == "Available"
                && (pv.Spec?.StorageClassName ?? string.Empty) == wanted
                && (pv.Spec?.VolumeMode ?? "Filesystem") == "Filesystem"
                && pv.Spec?.AccessModes?.Contains("ReadWriteOnce") == true
                && pv.Spec.Capacity is { } capacity && capacity.TryGetValue("storage", out var storage) && storage.ToInt64() >= size)
            .OrderBy(pv => pv.Spec!.Capacity["storage"].ToInt64())
            .ToList();
        var kind = scratchClass is null ? "no class" : $"class '{scratchClass}' (no provisioner: volumes are made by hand)";
        if (fitting.FirstOrDefault() is { } smallest)
        {
            return new(
                "ScratchNoMatchingPersistentVolume",
                ScratchFindingSeverity.Info,
                $"The scratch PVC has {kind}; PersistentVolume {smallest.Metadata.Name} ({smallest.Spec!.Capacity["storage"]}, Filesystem, ReadWriteOnce) is Available and can take it.",
                "Nothing to do, unless another claim takes that volume first.");
        }

        return new(
            "ScratchNoMatchingPersistentVolume",
            ScratchFindingSeverity.Error,
            $"The scratch PVC has {kind}, and no Available PersistentVolume fits it: it needs {(scratchClass is null ? "one without a class" : $"one of class '{scratchClass}'")}, at least {Bytes(size)}, Filesystem, ReadWriteOnce. The importer waits until one appears.{(blockTarget ? " The DataVolume is Block, so it needs two volumes: a Block one for itself and a Filesystem one for scratch." : string.Empty)}",
            $"Create such a PersistentVolume (capacity {PvcSize.ToQuantity(size)} or more, volumeMode Filesystem, accessModes ReadWriteOnce), or give scratch space a class that provisions: Set-CdiScratchStorageClass <class>.");
    }

    private static IEnumerable<ScratchFinding> QuotaFindings(V1ResourceQuota quota, IReadOnlyList<(string What, string? Class, long Size)> claims)
    {
        foreach (var (key, hard) in quota.Spec?.Hard ?? new Dictionary<string, ResourceQuantity>())
        {
            var perClass = key.IndexOf(ClassQuotaSuffix, StringComparison.Ordinal) is var at and > 0 ? key[..at] : null;
            var resource = perClass is null ? key : key[(perClass.Length + ClassQuotaSuffix.Length)..];
            if (resource is not ("requests.storage" or "persistentvolumeclaims"))
            {
                continue;
            }

            var counted = claims.Where(c => perClass is null || c.Class == perClass).ToList();
            if (counted.Count == 0)
            {
                continue;
            }

            var storage = resource == "requests.storage";
            var need = storage ? counted.Sum(c => c.Size) : counted.Count;
            var used = quota.Status?.Used is { } usedMap && usedMap.TryGetValue(key, out var u) ? u.ToInt64() : 0;
            var limit = hard.ToInt64();
            if (used + need <= limit)
            {
                continue;
            }

            string Amount(long value) => storage ? Bytes(value) : value.ToString(CultureInfo.InvariantCulture);
            var parts = string.Join(", ", counted.Select(c => storage ? $"{c.What} {Bytes(c.Size)}" : c.What));
            var message = perClass is not null && limit == 0
                ? $"ResourceQuota {quota.Metadata.NamespaceProperty}/{quota.Metadata.Name} sets {key} to 0: this namespace may not use class '{perClass}', which {parts} would get."
                : $"ResourceQuota {quota.Metadata.NamespaceProperty}/{quota.Metadata.Name}: {key} has {Amount(used)} of {Amount(limit)} used, and this import adds {Amount(need)} ({parts}), {Amount(used + need - limit)} too many. The API server refuses the claim that goes over, and CDI's importer waits for it.";
            yield return new(
                "ScratchQuotaExceeded",
                ScratchFindingSeverity.Error,
                message,
                perClass is not null && limit == 0
                    ? "Give scratch space a class this namespace may use (Set-CdiScratchStorageClass), or ask for a quota on that class."
                    : $"Ask for {key} of at least {(storage ? PvcSize.ToQuantity(used + need) : (used + need).ToString(CultureInfo.InvariantCulture))}, free some of it, or import where the quota allows it.");
        }
    }

    // CDI uses its populators on CSI storage (a provisioner that is not in-tree) unless the DataVolume opts out.
    private static bool UsesPopulator(DataVolume dataVolume, V1StorageClass? storageClass) =>
        dataVolume.Metadata?.Annotations?.TryGetValue("cdi.kubevirt.io/storage.usePopulator", out var asked) == true
            ? asked == "true"
            : storageClass?.Provisioner is { } provisioner && !provisioner.StartsWith("kubernetes.io/", StringComparison.Ordinal);

    private static bool IsNodeLocal(V1StorageClass storageClass) =>
        storageClass.AllowedTopologies is { Count: > 0 }
        || storageClass.Provisioner is NoProvisioner
        || storageClass.Provisioner.Contains("local", StringComparison.OrdinalIgnoreCase)
        || storageClass.Provisioner.Contains("lvm", StringComparison.OrdinalIgnoreCase);

    internal static string Bytes(long bytes) => $"{PvcSize.ExactQuantity(bytes)} ({bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)";
}
