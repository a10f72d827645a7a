using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Models;
using k8s.Models;

namespace CdiTools.Cluster.Scratch;

/// <summary>
/// The scratch PVCs CDI has made: which import each serves, why one stays Pending, which are left
/// over, and why a DataVolume waiting for its scratch PVC is stuck.
/// </summary>
public sealed class ScratchVolumeService(CdiApi api)
{
    /// <summary>The phases in which a DataVolume waits for its importer to start, which is when a scratch PVC can hold it up.</summary>
    private static readonly HashSet<string> WaitingPhases = new(StringComparer.Ordinal) { "", "Pending", "ImportScheduled", "UploadScheduled" };

    /// <summary>Every scratch PVC in <paramref name="namespace"/> (null: every namespace), sorted by namespace and name.</summary>
    public async Task<IReadOnlyList<ScratchVolume>> ListAsync(string? @namespace, CancellationToken cancellationToken)
    {
        var claims = await api.ListPersistentVolumeClaimsAsync(@namespace, cancellationToken).ConfigureAwait(false);
        var scratch = claims.Where(ScratchClaims.IsScratch)
            .OrderBy(c => c.Metadata.NamespaceProperty, StringComparer.Ordinal)
            .ThenBy(c => c.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        if (scratch.Count == 0)
        {
            return [];
        }

        var dataVolumes = await OrEmptyAsync(() => api.ListDataVolumesAsync(@namespace, cancellationToken)).ConfigureAwait(false);
        var cluster = new ClusterLookups(api);
        var found = new List<ScratchVolume>(scratch.Count);
        foreach (var claim in scratch)
        {
            found.Add(await DescribeAsync(claim, claims, dataVolumes, cluster, cancellationToken).ConfigureAwait(false));
        }

        return found;
    }

    /// <summary>
    /// For each of <paramref name="dataVolumes"/>, why it does not start when its scratch PVC is the
    /// reason: it is Pending (with the cause), or it could not be created (a quota CDI recorded an
    /// event for, or a quota or LimitRange that refuses it now). Null when the DataVolume is past
    /// that point, needs no scratch PVC, its scratch PVC is fine, or the user may not read what
    /// would tell (that namespace's claims or events). Each namespace's claims are listed once, and
    /// the pending causes share their class and volume lookups.
    /// </summary>
    public async Task<IReadOnlyList<ScratchFinding?>> ExplainWaitAsync(IReadOnlyList<DataVolumeView> dataVolumes, CancellationToken cancellationToken)
    {
        var claimsByNamespace = new Dictionary<string, IList<V1PersistentVolumeClaim>?>(StringComparer.Ordinal);
        var cluster = new ClusterLookups(api);
        var findings = new List<ScratchFinding?>(dataVolumes.Count);
        foreach (var dataVolume in dataVolumes)
        {
            if (!WaitingPhases.Contains(dataVolume.Phase ?? string.Empty) || dataVolume.Scratch.RequiresScratch == false)
            {
                findings.Add(null);
                continue;
            }

            // One namespace the user may not read leaves the others explained.
            try
            {
                if (!claimsByNamespace.TryGetValue(dataVolume.Namespace, out var claims))
                {
                    claimsByNamespace[dataVolume.Namespace] = null;
                    claims = await api.ListPersistentVolumeClaimsAsync(dataVolume.Namespace, cancellationToken).ConfigureAwait(false);
                    claimsByNamespace[dataVolume.Namespace] = claims;
                }

                findings.Add(claims is null ? null : await ExplainWaitAsync(dataVolume, claims, cluster, cancellationToken).ConfigureAwait(false));
            }
            catch (ClusterException e) when (e.Kind is ClusterErrorKind.Forbidden or ClusterErrorKind.NotFound)
            {
                findings.Add(null);
            }
        }

        return findings;
    }

    private async Task<ScratchFinding?> ExplainWaitAsync(DataVolumeView dataVolume, IList<V1PersistentVolumeClaim> claims, ClusterLookups cluster, CancellationToken cancellationToken)
    {
        var ns = dataVolume.Namespace;
        var claimName = dataVolume.DataVolume.Status?.ClaimName is { Length: > 0 } claimed ? claimed : dataVolume.Name;
        var target = claims.FirstOrDefault(c => c.Metadata.Name == claimName);
        if (target is null)
        {
            // CDI has not made the DataVolume's own PVC yet; its conditions say why.
            return null;
        }

        var serving = claims.Where(ScratchClaims.IsScratch)
            .FirstOrDefault(c => ScratchClaims.Resolve(c, claims).Target?.Metadata.Uid == target.Metadata.Uid);
        if (serving is not null)
        {
            var volume = await DescribeAsync(serving, claims, [dataVolume.DataVolume], cluster, cancellationToken).ConfigureAwait(false);
            return volume.PendingCause is { Severity: not ScratchFindingSeverity.Info } cause ? cause : null;
        }

        var primeName = ScratchClaims.PrimeName(target);
        var served = claims.Any(c => c.Metadata.Name == primeName) ? primeName : claimName;
        var scratchName = ScratchClaims.ScratchName(served);
        var events = new List<Corev1Event>();
        foreach (var about in new[] { claimName, primeName }.Distinct())
        {
            events.AddRange(await OrEmptyAsync(() => api.ListEventsAboutAsync(about, ns, cancellationToken)).ConfigureAwait(false));
        }

        // CDI records the API server's refusal on the claim (createScratchPersistentVolumeClaim); since
        // v1.64 a prime's events are copied onto the target with the prime's name in front.
        var refused = events.Where(e => e.Reason == "ErrExceededQuota" && e.Type == "Warning")
            .OrderByDescending(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp)
            .FirstOrDefault();
        if (refused?.Message is { Length: > 0 } refusal)
        {
            var text = refusal.StartsWith('[') && refusal.IndexOf("] : ", StringComparison.Ordinal) is var end and > 0 ? refusal[(end + 4)..] : refusal;
            return new(
                "ScratchQuotaExceeded",
                ScratchFindingSeverity.Error,
                $"CDI cannot create the scratch PVC {ns}/{scratchName}{(refused.Count is > 1 and var count ? $" (refused {count} times)" : string.Empty)}: {text}",
                $"Raise the ResourceQuota it names, or free storage in namespace {ns}; CDI keeps trying and creates the scratch PVC by itself once it fits.");
        }

        // A LimitRange refusal leaves no event: ask the preflight whether the API server refuses it now.
        ScratchSpaceReport report;
        try
        {
            report = await new ScratchSpacePreflight(api).TestAsync(dataVolume.DataVolume, exists: true, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterException e) when (e.Kind == ClusterErrorKind.Forbidden)
        {
            return null;
        }

        return report.Findings.FirstOrDefault(f => f.Severity == ScratchFindingSeverity.Error && f.Id is "ScratchLimitRangeExceeded" or "ScratchQuotaExceeded" or "ScratchClassNoFilesystem") is { } blocking
            ? blocking with { Message = $"CDI has not created the scratch PVC {ns}/{scratchName}. {blocking.Message}" }
            : null;
    }

    /// <summary>
    /// Deletes <paramref name="volume"/> if it is still the same claim and still orphaned, read
    /// again just before; a claim an import needs again is refused with ScratchVolumeInUse.
    /// </summary>
    public async Task<DeleteOutcome> RemoveAsync(ScratchVolume volume, CancellationToken cancellationToken)
    {
        var claims = await api.ListPersistentVolumeClaimsAsync(volume.Namespace, cancellationToken).ConfigureAwait(false);
        if (claims.FirstOrDefault(c => c.Metadata.Uid == volume.Uid && ScratchClaims.IsScratch(c)) is not { } claim)
        {
            return DeleteOutcome.NotFound;
        }

        var dataVolumes = await OrEmptyAsync(() => api.ListDataVolumesAsync(volume.Namespace, cancellationToken)).ConfigureAwait(false);
        var current = await DescribeAsync(claim, claims, dataVolumes, new ClusterLookups(api), cancellationToken).ConfigureAwait(false);
        if (!current.Orphaned)
        {
            throw InUse(current);
        }

        return await api.DeletePersistentVolumeClaimAsync(current.Name, current.Namespace, current.Uid, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The refusal to remove a scratch PVC an import still needs.</summary>
    public static ClusterException InUse(ScratchVolume volume) => new(
        "ScratchVolumeInUse",
        ClusterErrorKind.Conflict,
        $"Scratch PVC {volume.Namespace}/{volume.Name} is in use: it serves {volume.Claim}{(volume.DataVolume is null ? string.Empty : $" of DataVolume {volume.DataVolume}")}, whose import has not finished. CDI deletes it when the import ends; to stop the import, remove the DataVolume.");

    private static Task<IReadOnlyList<T>> OrEmptyAsync<T>(Func<Task<IList<T>>> read) =>
        OrEmptyAsync<T>(async () => (IReadOnlyList<T>)[.. await read().ConfigureAwait(false)]);

    private static async Task<IReadOnlyList<T>> OrEmptyAsync<T>(Func<Task<IReadOnlyList<T>>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (ClusterException e) when (e.Kind is ClusterErrorKind.Forbidden or ClusterErrorKind.NotFound)
        {
            // What cannot be read only makes the answer less precise.
            return [];
        }
    }

    private static string? OrphanReason(V1PersistentVolumeClaim scratch, V1PersistentVolumeClaim? claim, V1PersistentVolumeClaim? target, DataVolume? dataVolume)
    {
        var claimName = ScratchClaims.ClaimName(scratch.Metadata.Name);
        if (claim is null)
        {
            return claimName.StartsWith(ScratchClaims.PrimePrefix, StringComparison.Ordinal) && target is not null
                ? $"its PVC prime {claimName} is gone: the import into {target.Metadata.Name} has ended"
                : $"its PVC {claimName} is gone";
        }

        if (claim.Metadata.Annotations?.TryGetValue(ScratchClaims.PodPhaseAnnotation, out var podPhase) == true && podPhase is "Succeeded")
        {
            return $"the import into {claimName} has finished";
        }

        return dataVolume?.Status?.Phase is "Succeeded" or "Failed"
            ? $"DataVolume {dataVolume.Metadata.Name} has {dataVolume.Status.Phase}"
            : null;
    }

    private async Task<ScratchVolume> DescribeAsync(
        V1PersistentVolumeClaim scratch,
        IEnumerable<V1PersistentVolumeClaim> claims,
        IEnumerable<DataVolume> dataVolumes,
        ClusterLookups cluster,
        CancellationToken cancellationToken)
    {
        var ns = scratch.Metadata.NamespaceProperty;
        var (claim, target) = ScratchClaims.Resolve(scratch, claims);
        var dataVolumeName = ScratchClaims.DataVolumeOf(target);
        var dataVolume = dataVolumeName is null ? null : dataVolumes.FirstOrDefault(d => d.Metadata.NamespaceProperty == ns && d.Metadata.Name == dataVolumeName);
        var orphan = OrphanReason(scratch, claim, target, dataVolume);

        var owner = scratch.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "Pod");
        V1Pod? pod = null;
        if (owner is not null && (orphan is null || scratch.Status?.Phase == "Pending"))
        {
            var (readable, found) = await cluster.PodAsync(owner.Name, ns, cancellationToken).ConfigureAwait(false);
            pod = found?.Metadata.Uid == owner.Uid ? found : null;
            if (readable && pod is null)
            {
                orphan ??= $"its pod {owner.Name} is gone";
            }
        }

        ScratchFinding? cause = null;
        var terminating = scratch.Metadata.DeletionTimestamp is not null;
        if (!terminating && scratch.Status?.Phase is null or "Pending")
        {
            var events = await OrEmptyAsync(() => api.ListEventsAboutAsync(scratch.Metadata.Name, ns, cancellationToken)).ConfigureAwait(false);
            cause = ScratchPendingCauses.Explain(
                scratch,
                events.Where(e => e.InvolvedObject?.Uid is null || e.InvolvedObject.Uid == scratch.Metadata.Uid),
                pod,
                await cluster.ClassesAsync(cancellationToken).ConfigureAwait(false),
                await cluster.VolumesAsync(cancellationToken).ConfigureAwait(false));
        }

        return new ScratchVolume
        {
            Namespace = ns,
            Name = scratch.Metadata.Name,
            Uid = scratch.Metadata.Uid,
            Claim = ScratchClaims.ClaimName(scratch.Metadata.Name),
            TargetPvc = target?.Metadata.Name,
            DataVolume = dataVolumeName,
            Pod = owner?.Name,
            StorageClass = string.IsNullOrEmpty(scratch.Spec?.StorageClassName) ? null : scratch.Spec.StorageClassName,
            Size = scratch.Spec?.Resources?.Requests is { } requests && requests.TryGetValue("storage", out var size) ? size.ToInt64() : 0,
            Capacity = scratch.Status?.Capacity is { } capacity && capacity.TryGetValue("storage", out var bound) ? bound.ToInt64() : null,
            Phase = terminating ? "Terminating" : scratch.Status?.Phase ?? "Pending",
            Created = scratch.Metadata.CreationTimestamp,
            PendingCause = cause,
            OrphanReason = orphan,
        };
    }

    /// <summary>Cluster-wide reads made once per listing, each optional: a namespace admin may not list PersistentVolumes.</summary>
    private sealed class ClusterLookups(CdiApi api)
    {
        private IReadOnlyCollection<V1StorageClass>? classes;
        private IReadOnlyCollection<V1PersistentVolume>? volumes;
        private bool volumesRead;
        private bool podsForbidden;

        public async Task<IReadOnlyCollection<V1StorageClass>> ClassesAsync(CancellationToken cancellationToken) =>
            classes ??= await OrEmptyAsync(() => api.ListStorageClassesAsync(cancellationToken)).ConfigureAwait(false);

        public async Task<IReadOnlyCollection<V1PersistentVolume>?> VolumesAsync(CancellationToken cancellationToken)
        {
            if (!volumesRead)
            {
                volumesRead = true;
                try
                {
                    volumes = [.. await api.ListPersistentVolumesAsync(cancellationToken).ConfigureAwait(false)];
                }
                catch (ClusterException e) when (e.Kind == ClusterErrorKind.Forbidden)
                {
                    volumes = null;
                }
            }

            return volumes;
        }

        /// <summary>The pod, and whether pods can be read at all (a pod that cannot be read is not taken for gone).</summary>
        public async Task<(bool Readable, V1Pod? Pod)> PodAsync(string name, string @namespace, CancellationToken cancellationToken)
        {
            if (podsForbidden)
            {
                return (false, null);
            }

            try
            {
                return (true, await api.GetPodAsync(name, @namespace, cancellationToken).ConfigureAwait(false));
            }
            catch (ClusterException e) when (e.Kind == ClusterErrorKind.Forbidden)
            {
                podsForbidden = true;
                return (false, null);
            }
        }
    }
}
