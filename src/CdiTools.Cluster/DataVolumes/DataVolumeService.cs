using CdiTools.Cluster.Models;
using CdiTools.Cluster.Scratch;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>A DataVolume that was created, with what the caller should know about it.</summary>
public sealed record CreatedDataVolume(DataVolumeView View, DataVolumeManifest Manifest, IReadOnlyList<string> Warnings);

/// <summary>What creating a DataVolume does with the scratch preflight's Error findings.</summary>
public enum ScratchPreflightPolicy
{
    /// <summary>Creates it and says what will hold it up (New-CdiDataVolume: a DataVolume can wait for a quota to grow).</summary>
    Warn,

    /// <summary>Refuses, with the finding's id (an upload whose scratch PVC cannot bind would hang until it times out).</summary>
    Refuse,
}

/// <summary>
/// Creates, reads and deletes DataVolumes. Creation checks first what CDI would only find out later
/// (a name taken, a Secret or ConfigMap that is missing), creates the Secret and ConfigMap before the
/// DataVolume that mounts them, and makes the DataVolume their owner so they go away with it; when
/// the DataVolume cannot be created, what was created for it is deleted again.
/// </summary>
public sealed class DataVolumeService(CdiApi api)
{
    private readonly ScratchStorageClassService scratch = new(api);
    private readonly ScratchVolumeService scratchVolumes = new(api);

    public string NamespaceOr(string? @namespace) => api.Connection.NamespaceOr(@namespace);

    /// <summary>The objects <paramref name="request"/> makes, in the namespace it names or the connection's.</summary>
    public DataVolumeManifest Plan(DataVolumeRequest request) => DataVolumeManifestBuilder.Build(request, NamespaceOr(request.Namespace));

    /// <summary>
    /// Creates the DataVolume <paramref name="request"/> describes, after checking what CDI would
    /// refuse and whether its scratch PVC will be created and bind (see <see cref="ScratchSpacePreflight"/>):
    /// its Error and Warning findings become warnings, or, with <see cref="ScratchPreflightPolicy.Refuse"/>,
    /// an Error finding refuses before anything is created.
    /// </summary>
    public async Task<CreatedDataVolume> CreateAsync(DataVolumeRequest request, CancellationToken cancellationToken, ScratchPreflightPolicy scratchPolicy = ScratchPreflightPolicy.Warn)
    {
        var manifest = Plan(request);
        var ns = manifest.Namespace;
        var warnings = new List<string>();
        await PreflightAsync(request, manifest, cancellationToken).ConfigureAwait(false);
        warnings.AddRange(await ScratchPreflightAsync(manifest, scratchPolicy, cancellationToken).ConfigureAwait(false));

        var created = new List<(string Kind, string Name)>();
        DataVolume dataVolume;
        try
        {
            if (manifest.Secret is { } secret)
            {
                await api.CreateSecretAsync(secret, cancellationToken).ConfigureAwait(false);
                created.Add(("Secret", secret.Metadata.Name));
            }

            if (manifest.ConfigMap is { } configMap)
            {
                await api.CreateConfigMapAsync(configMap, cancellationToken).ConfigureAwait(false);
                created.Add(("ConfigMap", configMap.Metadata.Name));
            }

            dataVolume = await api.CreateDataVolumeAsync(manifest.DataVolume, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (created.Count > 0)
        {
            foreach (var (kind, name) in created)
            {
                await api.TryDeleteAsync(kind, name, ns).ConfigureAwait(false);
            }

            throw;
        }

        var owner = new V1OwnerReference
        {
            ApiVersion = dataVolume.ApiVersion ?? $"{CdiResources.CdiGroup}/{CdiResources.CdiVersion}",
            Kind = DataVolume.KindName,
            Name = dataVolume.Metadata.Name,
            Uid = dataVolume.Metadata.Uid,
            BlockOwnerDeletion = false,
        };
        foreach (var (kind, name) in created)
        {
            try
            {
                await api.SetOwnerAsync(kind, name, ns, owner, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ClusterException e)
            {
                warnings.Add($"{kind} {ns}/{name} is not owned by the DataVolume, so it stays when the DataVolume is deleted: {e.Message}");
            }
        }

        var context = await scratch.ContextOrNullAsync(reason => warnings.Add($"The scratch class cannot be predicted: {reason}"), cancellationToken).ConfigureAwait(false);
        var view = DataVolumeView.Of(dataVolume, context);
        return new CreatedDataVolume(view, manifest, warnings);
    }

    /// <summary>DataVolumes whose names pass <paramref name="nameFilter"/>, in a namespace or (null) all of them, sorted by namespace and name.</summary>
    public async Task<IReadOnlyList<DataVolumeView>> ListAsync(string? @namespace, Func<string, bool> nameFilter, CancellationToken cancellationToken)
    {
        var found = await api.ListDataVolumesAsync(@namespace, cancellationToken).ConfigureAwait(false);
        var context = await scratch.ContextOrNullAsync(null, cancellationToken).ConfigureAwait(false);
        var views = found
            .Where(dv => nameFilter(dv.Metadata.Name))
            .OrderBy(dv => dv.Metadata.NamespaceProperty, StringComparer.Ordinal)
            .ThenBy(dv => dv.Metadata.Name, StringComparer.Ordinal)
            .Select(dv => DataVolumeView.Of(dv, context))
            .ToList();
        return await WithScratchProblemsAsync(views, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One DataVolume; null when it does not exist.</summary>
    public async Task<DataVolumeView?> GetAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        await api.GetDataVolumeAsync(name, @namespace, cancellationToken).ConfigureAwait(false) is { } dataVolume
            ? (await WithScratchProblemsAsync([DataVolumeView.Of(dataVolume, await scratch.ContextOrNullAsync(null, cancellationToken).ConfigureAwait(false))], cancellationToken).ConfigureAwait(false))[0]
            : null;

    /// <summary><paramref name="views"/>, each with the reason its scratch PVC holds it up, when one does and it can be read.</summary>
    private async Task<IReadOnlyList<DataVolumeView>> WithScratchProblemsAsync(IReadOnlyList<DataVolumeView> views, CancellationToken cancellationToken)
    {
        var problems = await scratchVolumes.ExplainWaitAsync(views, cancellationToken).ConfigureAwait(false);
        return [.. views.Select((view, i) => view with { ScratchProblem = problems[i] })];
    }

    /// <summary>Deletes a DataVolume; its PVC and the Secrets and ConfigMaps it owns go with it.</summary>
    public Task<DeleteOutcome> RemoveAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        api.DeleteDataVolumeAsync(name, @namespace, cancellationToken);

    private async Task<IReadOnlyList<string>> ScratchPreflightAsync(DataVolumeManifest manifest, ScratchPreflightPolicy policy, CancellationToken cancellationToken)
    {
        ScratchSpaceReport report;
        try
        {
            report = await new ScratchSpacePreflight(api).TestAsync(manifest.DataVolume, exists: false, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterException e) when (e.Kind is ClusterErrorKind.Forbidden)
        {
            // A namespace user may create DataVolumes without reading quotas or volumes.
            return [$"The scratch space preflight could not run, so whether CDI's scratch PVC for {manifest.Namespace}/{manifest.Name} will bind is not known: {e.Message}"];
        }

        var errors = report.Findings.Where(f => f.Severity == ScratchFindingSeverity.Error).ToList();
        if (policy == ScratchPreflightPolicy.Refuse && errors.Count > 0)
        {
            throw new ClusterException(
                errors[0].Id,
                ClusterErrorKind.Invalid,
                $"CDI's scratch PVC for {manifest.Namespace}/{manifest.Name} would not bind, so the upload would wait until it times out; nothing was created. {string.Join(" ", errors.Select(f => $"{f.Id}: {f.Message} Fix: {f.Fix}"))} -Force creates the DataVolume anyway.");
        }

        return [.. report.Findings
            .Where(f => f.Severity != ScratchFindingSeverity.Info)
            .Select(f => $"Scratch space for {manifest.Namespace}/{manifest.Name}: {f.Id}: {f.Message} Fix: {f.Fix}")];
    }

    private async Task PreflightAsync(DataVolumeRequest request, DataVolumeManifest manifest, CancellationToken cancellationToken)
    {
        var ns = manifest.Namespace;
        if (await api.GetDataVolumeAsync(manifest.Name, ns, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new ClusterException("DataVolumeExists", ClusterErrorKind.AlreadyExists, $"DataVolume {ns}/{manifest.Name} already exists. Choose another name, delete it with Remove-CdiDataVolume {manifest.Name} -Namespace {ns}, or, for an upload DataVolume, upload into it with Import-CdiImage -NoCreate -Name {manifest.Name} -Namespace {ns}.");
        }

        if (await api.GetPersistentVolumeClaimAsync(manifest.Name, ns, cancellationToken).ConfigureAwait(false) is { } claim
            && claim.Metadata.OwnerReferences?.Any(o => o.Kind == DataVolume.KindName) != true)
        {
            throw new ClusterException("PvcExists", ClusterErrorKind.AlreadyExists, $"Destination PVC {ns}/{manifest.Name} already exists and no DataVolume owns it; CDI refuses a DataVolume of that name.");
        }

        if (manifest.Secret is { } secret && await api.SecretExistsAsync(secret.Metadata.Name, ns, cancellationToken).ConfigureAwait(false))
        {
            throw new ClusterException("SecretExists", ClusterErrorKind.AlreadyExists, $"Secret {ns}/{secret.Metadata.Name} already exists; CdiTools does not overwrite it. Delete it, or pass its name with -SecretName.");
        }

        if (manifest.ConfigMap is { } configMap && await api.ConfigMapExistsAsync(configMap.Metadata.Name, ns, cancellationToken).ConfigureAwait(false))
        {
            throw new ClusterException("ConfigMapExists", ClusterErrorKind.AlreadyExists, $"ConfigMap {ns}/{configMap.Metadata.Name} already exists; CdiTools does not overwrite it. Delete it, or pass its name with -CertConfigMap.");
        }

        // CDI would start the importer pod and leave it waiting for a volume that never comes.
        foreach (var name in request.SecretExtraHeaders.Prepend(request.SecretName).OfType<string>())
        {
            if (!await api.SecretExistsAsync(name, ns, cancellationToken).ConfigureAwait(false))
            {
                throw new ClusterException("SecretNotFound", ClusterErrorKind.NotFound, $"There is no Secret {ns}/{name}; the importer pod would wait for it forever.");
            }
        }

        if (request.CertConfigMap is { } existing && !await api.ConfigMapExistsAsync(existing, ns, cancellationToken).ConfigureAwait(false))
        {
            throw new ClusterException("ConfigMapNotFound", ClusterErrorKind.NotFound, $"There is no ConfigMap {ns}/{existing}; the importer pod would wait for it forever.");
        }

        if (request.Source == DataVolumeSourceKind.Pvc)
        {
            var sourceNs = request.SourceNamespace ?? ns;
            try
            {
                if (await api.GetPersistentVolumeClaimAsync(request.SourceName!, sourceNs, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw new ClusterException("CloneSourceNotFound", ClusterErrorKind.NotFound, $"There is no PVC {sourceNs}/{request.SourceName} to clone; the DataVolume would wait for it.");
                }
            }
            catch (ClusterException e) when (e.Kind == ClusterErrorKind.Forbidden)
            {
                // Cloning across namespaces may be allowed to CDI without this user reading the source.
            }
        }
    }
}
