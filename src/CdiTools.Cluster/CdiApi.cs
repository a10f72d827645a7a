using System.Diagnostics.CodeAnalysis;
using System.Net;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Models;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CdiTools.Cluster;

/// <summary>
/// Typed reads, merge patches and watches of the objects CDI and HyperConverged own, over the
/// official client; API errors come out as <see cref="ClusterException"/>s that say what was being done.
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The GenericClients are made with disposeClient: false, so their Dispose does nothing; the Kubernetes client they share belongs to the session's cached ClusterConnection.")]
public sealed class CdiApi(ClusterConnection connection)
{
    private readonly GenericClient cdis = new(connection.Client, CdiResources.CdiGroup, CdiResources.CdiVersion, CdiResources.CdiPlural, disposeClient: false);
    private readonly GenericClient cdiConfigs = new(connection.Client, CdiResources.CdiGroup, CdiResources.CdiVersion, CdiResources.CdiConfigPlural, disposeClient: false);
    private readonly GenericClient storageProfiles = new(connection.Client, CdiResources.CdiGroup, CdiResources.CdiVersion, CdiResources.StorageProfilePlural, disposeClient: false);
    private readonly GenericClient dataVolumes = new(connection.Client, CdiResources.CdiGroup, CdiResources.CdiVersion, CdiResources.DataVolumePlural, disposeClient: false);
    private readonly GenericClient uploadTokenRequests = new(connection.Client, CdiResources.UploadGroup, CdiResources.CdiVersion, CdiResources.UploadTokenRequestPlural, disposeClient: false);
    private readonly GenericClient hyperConvergeds = new(connection.Client, CdiResources.HcoGroup, CdiResources.HcoVersion, CdiResources.HyperConvergedPlural, disposeClient: false);

    public ClusterConnection Connection { get; } = connection;

    /// <summary>The CDI CRs (normally one, "cdi"); empty when CDI is not installed.</summary>
    public Task<IList<CdiCustomResource>> ListCdisAsync(CancellationToken cancellationToken) =>
        ListOrEmptyAsync<CdiCustomResource>(cdis, "listing CDI custom resources", cancellationToken);

    /// <summary>The HyperConverged CRs in any namespace; empty when the HyperConverged operator is not installed.</summary>
    public Task<IList<HyperConverged>> ListHyperConvergedsAsync(CancellationToken cancellationToken) =>
        CallAsync(
            () => ListInAllNamespacesAsync<HyperConverged>(CdiResources.HcoGroup, CdiResources.HcoVersion, CdiResources.HyperConvergedPlural, cancellationToken),
            "listing HyperConverged resources",
            onNotFound: () => []);

    /// <summary>cdiconfig/config; null when CDI has not created it (not installed, or not yet).</summary>
    public Task<CdiConfig?> GetCdiConfigAsync(CancellationToken cancellationToken) =>
        ReadOrNullAsync<CdiConfig>(cdiConfigs, CdiResources.CdiConfigName, null, "reading CDIConfig config", cancellationToken);

    public Task<StorageProfile?> GetStorageProfileAsync(string name, CancellationToken cancellationToken) =>
        ReadOrNullAsync<StorageProfile>(storageProfiles, name, null, $"reading StorageProfile {name}", cancellationToken);

    public Task<DataVolume?> GetDataVolumeAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        ReadOrNullAsync<DataVolume>(dataVolumes, name, @namespace, $"reading DataVolume {@namespace}/{name}", cancellationToken);

    public Task<IList<V1StorageClass>> ListStorageClassesAsync(CancellationToken cancellationToken) =>
        CallAsync(async () => (await Connection.Client.StorageV1.ListStorageClassAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Items, "listing StorageClasses");

    /// <summary>The ResourceQuotas of a namespace, with what each has used (status.used).</summary>
    public Task<IList<V1ResourceQuota>> ListResourceQuotasAsync(string @namespace, CancellationToken cancellationToken) =>
        CallAsync(
            async () => (await Connection.Client.CoreV1.ListNamespacedResourceQuotaAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false)).Items,
            $"listing ResourceQuotas in namespace {@namespace}");

    public Task<IList<V1LimitRange>> ListLimitRangesAsync(string @namespace, CancellationToken cancellationToken) =>
        CallAsync(
            async () => (await Connection.Client.CoreV1.ListNamespacedLimitRangeAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false)).Items,
            $"listing LimitRanges in namespace {@namespace}");

    public Task<IList<V1PersistentVolume>> ListPersistentVolumesAsync(CancellationToken cancellationToken) =>
        CallAsync(async () => (await Connection.Client.CoreV1.ListPersistentVolumeAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Items, "listing PersistentVolumes");

    public Task<V1PersistentVolumeClaim?> GetPersistentVolumeClaimAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        CallAsync<V1PersistentVolumeClaim?>(
            async () => await Connection.Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            $"reading PersistentVolumeClaim {@namespace}/{name}",
            onNotFound: () => null);

    /// <summary>The PVCs of a namespace, or of every namespace when <paramref name="namespace"/> is null.</summary>
    public Task<IList<V1PersistentVolumeClaim>> ListPersistentVolumeClaimsAsync(string? @namespace, CancellationToken cancellationToken) =>
        CallAsync(
            async () => (@namespace is null
                ? await Connection.Client.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)
                : await Connection.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false)).Items,
            @namespace is null ? "listing PersistentVolumeClaims in all namespaces" : $"listing PersistentVolumeClaims in namespace {@namespace}");

    /// <summary>
    /// Deletes a PVC only if it is still the object with <paramref name="uid"/>: a claim deleted and
    /// made again under the same name in between is left alone (the server answers 409).
    /// </summary>
    public Task<DeleteOutcome> DeletePersistentVolumeClaimAsync(string name, string @namespace, string uid, CancellationToken cancellationToken) =>
        CallAsync(
            async () =>
            {
                // The API server answers a PVC delete with the claim (its registry returns deleted
                // objects), marked while the pvc-protection finalizer holds it.
                var options = new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } };
                var answer = await Connection.Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(name, @namespace, options, cancellationToken: cancellationToken).ConfigureAwait(false);
                return new DeleteOutcome(true, answer.Metadata?.DeletionTimestamp is null ? [] : [.. answer.Metadata.Finalizers ?? []]);
            },
            $"deleting PersistentVolumeClaim {@namespace}/{name}",
            onNotFound: () => DeleteOutcome.NotFound);

    /// <summary>A pod; null when it does not exist.</summary>
    public Task<V1Pod?> GetPodAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        CallAsync<V1Pod?>(
            async () => await Connection.Client.CoreV1.ReadNamespacedPodAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            $"reading Pod {@namespace}/{name}",
            onNotFound: () => null);

    /// <summary>Applies a JSON merge patch (RFC 7386) to a CDI, CDIConfig or HyperConverged object.</summary>
    public async Task MergePatchAsync(CdiConfigOwnerKind kind, string name, string? @namespace, string patch, CancellationToken cancellationToken)
    {
        var client = kind switch
        {
            CdiConfigOwnerKind.HyperConverged => hyperConvergeds,
            CdiConfigOwnerKind.CdiCustomResource => cdis,
            _ => cdiConfigs,
        };
        var body = new V1Patch(patch, V1Patch.PatchType.MergePatch);
        await CallAsync(
            () => @namespace is null
                ? client.PatchAsync<KubernetesObjectShell>(body, name, cancellationToken)
                : client.PatchNamespacedAsync<KubernetesObjectShell>(body, @namespace, name, cancellationToken),
            $"patching {kind} {(@namespace is null ? name : $"{@namespace}/{name}")}").ConfigureAwait(false);
    }

    /// <summary>
    /// A token for uploading into PVC <paramref name="pvcName"/> through the upload proxy. CDI's API
    /// server answers a request it does not allow with a bare 401 and no reason, so that is explained here.
    /// </summary>
    public async Task<string> RequestUploadTokenAsync(string pvcName, string @namespace, CancellationToken cancellationToken)
    {
        var request = new UploadTokenRequest
        {
            Metadata = new V1ObjectMeta { Name = pvcName, NamespaceProperty = @namespace },
            Spec = new UploadTokenRequestSpec { PvcName = pvcName },
        };
        var doing = $"creating an UploadTokenRequest for PVC {@namespace}/{pvcName}";
        try
        {
            var answer = await uploadTokenRequests.CreateNamespacedAsync(request, @namespace, cancellationToken).ConfigureAwait(false);
            return answer.Status?.Token is { Length: > 0 } token
                ? token
                : throw new ClusterException("UploadTokenMissing", ClusterErrorKind.Other, $"CDI answered {doing} without a token.");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Unauthorized && string.IsNullOrWhiteSpace(e.Response.Content))
        {
            throw new ClusterException(
                "UploadTokenDenied",
                ClusterErrorKind.Forbidden,
                $"The cluster refused {doing} (401): this user may not create uploadtokenrequests.upload.cdi.kubevirt.io in namespace {@namespace}.",
                e);
        }
        catch (HttpOperationException e)
        {
            throw ClusterException.FromApi(e, doing);
        }
    }

    /// <summary>DataVolumes in <paramref name="namespace"/>, or in every namespace when it is null.</summary>
    public async Task<IList<DataVolume>> ListDataVolumesAsync(string? @namespace, CancellationToken cancellationToken)
    {
        var doing = @namespace is null ? "listing DataVolumes in all namespaces" : $"listing DataVolumes in {@namespace}";
        try
        {
            if (@namespace is not null)
            {
                return (await dataVolumes.ListNamespacedAsync<CustomResourceList<DataVolume>>(@namespace, cancel: cancellationToken).ConfigureAwait(false)).Items;
            }

            return await ListInAllNamespacesAsync<DataVolume>(CdiResources.CdiGroup, CdiResources.CdiVersion, CdiResources.DataVolumePlural, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && string.IsNullOrEmpty(StatusReason(e)))
        {
            throw new ClusterException("CdiNotInstalled", ClusterErrorKind.NotFound, $"The cluster {Connection.Server} does not serve DataVolumes: CDI is not installed.", e);
        }
        catch (HttpOperationException e)
        {
            throw ClusterException.FromApi(e, doing);
        }
    }

    public Task<DataVolume> CreateDataVolumeAsync(DataVolume dataVolume, CancellationToken cancellationToken) =>
        CallAsync(
            () => dataVolumes.CreateNamespacedAsync(dataVolume, dataVolume.Metadata.NamespaceProperty, cancellationToken),
            $"creating DataVolume {dataVolume.Metadata.NamespaceProperty}/{dataVolume.Metadata.Name}");

    /// <summary>Deletes a DataVolume (its PVC and what it owns go with it), whichever way the API server answers.</summary>
    public Task<DeleteOutcome> DeleteDataVolumeAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        CallAsync(
            // Read as untyped JSON: a DataVolume that goes at once is answered with a Status, not the object.
            async () => DeleteOutcome.FromAnswer(await Connection.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                CdiResources.CdiGroup, CdiResources.CdiVersion, @namespace, CdiResources.DataVolumePlural, name, cancellationToken: cancellationToken).ConfigureAwait(false)),
            $"deleting DataVolume {@namespace}/{name}",
            onNotFound: () => DeleteOutcome.NotFound);

    /// <summary>DataVolumes of a namespace (or all) as they change: every current one first, then every change, until cancelled.</summary>
    public async IAsyncEnumerable<(WatchEventType Type, DataVolume DataVolume)> WatchDataVolumesAsync(
        string? @namespace,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = @namespace is null
            ? dataVolumes.WatchAsync<DataVolume>(onError: null, cancellationToken)
            : dataVolumes.WatchNamespacedAsync<DataVolume>(@namespace, onError: null, cancellationToken);
        await foreach (var item in stream.ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>Events of a namespace as they are recorded (the current ones first), until cancelled.</summary>
    public async IAsyncEnumerable<Corev1Event> WatchEventsAsync(
        string @namespace,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (type, item) in Connection.Client.CoreV1.WatchListNamespacedEventAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (type is WatchEventType.Added or WatchEventType.Modified)
            {
                yield return item;
            }
        }
    }

    /// <summary>The events recorded about objects named <paramref name="name"/> in a namespace (a DataVolume and its PVC), oldest first.</summary>
    public Task<IReadOnlyList<Corev1Event>> ListEventsAboutAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        CallAsync<IReadOnlyList<Corev1Event>>(
            async () => [.. (await Connection.Client.CoreV1.ListNamespacedEventAsync(@namespace, fieldSelector: $"involvedObject.name={name}", cancellationToken: cancellationToken).ConfigureAwait(false))
                .Items.OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp)],
            $"listing events about {@namespace}/{name}");

    public async Task<bool> SecretExistsAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        await ExistsAsync(() => Connection.Client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: cancellationToken), $"reading Secret {@namespace}/{name}").ConfigureAwait(false);

    public async Task<bool> ConfigMapExistsAsync(string name, string @namespace, CancellationToken cancellationToken) =>
        await ExistsAsync(() => Connection.Client.CoreV1.ReadNamespacedConfigMapAsync(name, @namespace, cancellationToken: cancellationToken), $"reading ConfigMap {@namespace}/{name}").ConfigureAwait(false);

    public Task<V1Secret> CreateSecretAsync(V1Secret secret, CancellationToken cancellationToken) =>
        CallAsync(
            () => Connection.Client.CoreV1.CreateNamespacedSecretAsync(secret, secret.Metadata.NamespaceProperty, cancellationToken: cancellationToken),
            $"creating Secret {secret.Metadata.NamespaceProperty}/{secret.Metadata.Name}");

    public Task<V1ConfigMap> CreateConfigMapAsync(V1ConfigMap configMap, CancellationToken cancellationToken) =>
        CallAsync(
            () => Connection.Client.CoreV1.CreateNamespacedConfigMapAsync(configMap, configMap.Metadata.NamespaceProperty, cancellationToken: cancellationToken),
            $"creating ConfigMap {configMap.Metadata.NamespaceProperty}/{configMap.Metadata.Name}");

    /// <summary>Makes <paramref name="owner"/> the owner of a Secret or ConfigMap, so it is deleted with it.</summary>
    public async Task SetOwnerAsync(string kind, string name, string @namespace, V1OwnerReference owner, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(
            new { metadata = new { ownerReferences = new[] { owner } } },
            V1Patch.PatchType.MergePatch);
        await CallAsync<object>(
            async () => kind == "Secret"
                ? await Connection.Client.CoreV1.PatchNamespacedSecretAsync(patch, name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await Connection.Client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            $"setting the owner of {kind} {@namespace}/{name}").ConfigureAwait(false);
    }

    /// <summary>Deletes a Secret or ConfigMap CdiTools created, when what needed it could not be created; a failure here is not reported over the first.</summary>
    public async Task TryDeleteAsync(string kind, string name, string @namespace)
    {
        try
        {
            _ = kind == "Secret"
                ? await Connection.Client.CoreV1.DeleteNamespacedSecretAsync(name, @namespace).ConfigureAwait(false)
                : await Connection.Client.CoreV1.DeleteNamespacedConfigMapAsync(name, @namespace).ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
            // The original error matters more; a leftover is named in it by the caller.
        }
    }

    /// <summary>CDIConfig as it changes: the current object first, then every change, until cancelled.</summary>
    public async IAsyncEnumerable<CdiConfig> WatchCdiConfigAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await GetCdiConfigAsync(cancellationToken).ConfigureAwait(false) is { } current)
        {
            yield return current;
        }

        await foreach (var (type, config) in cdiConfigs.WatchAsync<CdiConfig>(onError: null, cancellationToken).ConfigureAwait(false))
        {
            if (type is WatchEventType.Added or WatchEventType.Modified && config.Metadata.Name == CdiResources.CdiConfigName)
            {
                yield return config;
            }
        }
    }

    // GenericClient lists in one namespace only; across all of them the custom-objects API answers untyped.
    private async Task<IList<T>> ListInAllNamespacesAsync<T>(string group, string version, string plural, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        using var response = await Connection.Client.CustomObjects.ListCustomObjectForAllNamespacesWithHttpMessagesAsync(
            group, version, plural, cancellationToken: cancellationToken).ConfigureAwait(false);
        return KubernetesJson.Deserialize<CustomResourceList<T>>(KubernetesJson.Serialize(response.Body)).Items;
    }

    /// <summary>
    /// One translation of API failures: the server's refusal as a <see cref="ClusterException"/>
    /// saying what was being done. With <paramref name="onNotFound"/>, a 404 (the object, or the
    /// resource, is not there) is an answer rather than a failure.
    /// </summary>
    private static async Task<T> CallAsync<T>(Func<Task<T>> call, string doing, Func<T>? onNotFound = null)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (onNotFound is not null && e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return onNotFound();
        }
        catch (HttpOperationException e)
        {
            throw ClusterException.FromApi(e, doing);
        }
    }

    private static Task<bool> ExistsAsync<T>(Func<Task<T>> read, string doing) =>
        CallAsync(
            async () =>
            {
                await read().ConfigureAwait(false);
                return true;
            },
            doing,
            onNotFound: () => false);

    // A 404 for a missing object carries a Status with reason NotFound and details; a 404 for a
    // resource the server does not serve (CRD absent) carries a bare page or a Status without details.
    private static string? StatusReason(HttpOperationException e)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(e.Response.Content ?? "");
            return document.RootElement.TryGetProperty("details", out var details) && details.TryGetProperty("name", out var name) ? name.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static Task<IList<T>> ListOrEmptyAsync<T>(GenericClient client, string doing, CancellationToken cancellationToken)
        where T : IKubernetesObject =>
        CallAsync<IList<T>>(
            async () => (await client.ListAsync<CustomResourceList<T>>(cancel: cancellationToken).ConfigureAwait(false)).Items,
            doing,
            onNotFound: () => []);

    private static Task<T?> ReadOrNullAsync<T>(GenericClient client, string name, string? @namespace, string doing, CancellationToken cancellationToken)
        where T : class, IKubernetesObject =>
        CallAsync<T?>(
            async () => @namespace is null
                ? await client.ReadAsync<T>(name, cancellationToken).ConfigureAwait(false)
                : await client.ReadNamespacedAsync<T>(@namespace, name, cancellationToken).ConfigureAwait(false),
            doing,
            onNotFound: () => null);

    /// <summary>Any object, read only for its metadata (a patch's answer).</summary>
    private sealed class KubernetesObjectShell : IKubernetesObject<V1ObjectMeta>
    {
        [System.Text.Json.Serialization.JsonPropertyName("apiVersion")]
        public string? ApiVersion { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("kind")]
        public string? Kind { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("metadata")]
        public V1ObjectMeta Metadata { get; set; } = new();
    }
}
