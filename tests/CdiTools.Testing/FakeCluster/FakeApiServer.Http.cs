using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson.Exceptions;

namespace CdiTools.Testing.FakeCluster;

/// <summary>The REST side: routing, authentication, authorization and the verbs.</summary>
public sealed partial class FakeApiServer
{
    private const string JsonPatch = "application/json-patch+json";
    private const string MergePatch = "application/merge-patch+json";
    private const string StrategicMergePatch = "application/strategic-merge-patch+json";
    private const string ApplyPatch = "application/apply-patch+yaml";
    private const string Conflicted = "the object has been modified; please apply your changes to the latest version and try again";

    private static readonly Regex DnsSubdomain = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant);
    private static readonly Regex DnsLabel = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant);

    /// <summary>What one resource request addresses.</summary>
    private sealed record Target(ApiResource Resource, string Namespace, string? Name, string? Subresource, bool AllNamespaces);

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        }

        var (user, authenticatedBy) = Authenticate(context);
        var logged = false;
        void Log(int status)
        {
            if (!logged)
            {
                logged = true;
                requests.Enqueue(new FakeRequest(
                    request.Method,
                    request.Path.Value ?? "/",
                    request.QueryString.HasValue ? request.QueryString.Value![1..] : "",
                    request.ContentType,
                    body,
                    user,
                    authenticatedBy,
                    status));
            }
        }

        int code;
        try
        {
            if (user is null)
            {
                throw ApiError.Unauthorized();
            }

            code = await RouteAsync(context, body, user, Log).ConfigureAwait(false);
        }
        catch (ApiError error)
        {
            code = error.Code;
            await WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || stopping.IsCancellationRequested)
        {
            code = 499;
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            code = 500;
            context.Response.StatusCode = 500;
            context.Response.ContentType = "application/json";
            var status = new JsonObject
            {
                ["kind"] = "Status",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject(),
                ["status"] = "Failure",
                ["message"] = $"fake API server failure: {exception}",
                ["reason"] = "InternalError",
                ["code"] = 500,
            };
            await context.Response.WriteAsync(JsonOutput.Text(status), CancellationToken.None).ConfigureAwait(false);
        }

        Log(code);
    }

    private static async Task WriteErrorAsync(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = error.Code;
        if (error.PlainText is not null)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(error.PlainText, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonOutput.Text(error.ToStatus()), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<int> WriteJsonAsync(HttpContext context, int status, JsonNode node)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonOutput.Text(node), context.RequestAborted).ConfigureAwait(false);
        return status;
    }

    private static ApiError PathNotFound() => new ApiErrorBuilder(404, "NotFound", "the server could not find the requested resource")
        .Cause("UnexpectedServerResponse", "404 page not found")
        .Build();

    private (string? User, string? By) Authenticate(HttpContext context)
    {
        // The API server tries the x509 authenticator before bearer tokens; the first that
        // recognises the request wins, and a request none recognises is unauthorized.
        if (context.Connection.ClientCertificate is { } certificate && Credentials.UserFromCertificate(certificate, authority.Certificate) is { } certificateUser)
        {
            return (certificateUser, "x509");
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && tokens.TryGetValue(header[7..].Trim(), out var tokenUser))
        {
            return (tokenUser, "token");
        }

        return (null, null);
    }

    private async Task<int> RouteAsync(HttpContext context, string body, string user, Action<int> log)
    {
        var segments = (context.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var isGet = HttpMethods.IsGet(context.Request.Method);
        switch (segments)
        {
            case []:
                return await WriteJsonAsync(context, 200, new JsonObject { ["paths"] = new JsonArray("/api", "/api/v1", "/apis", "/healthz", "/version") }).ConfigureAwait(false);
            case ["version"] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.Version()).ConfigureAwait(false);
            case ["healthz" or "livez" or "readyz"] when isGet:
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("ok", context.RequestAborted).ConfigureAwait(false);
                return 200;
            case ["api"] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.ApiVersions($"{BaseUri.Host}:{BaseUri.Port}")).ConfigureAwait(false);
            case ["api", "v1"] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.ResourceList(catalog, "", "v1")!).ConfigureAwait(false);
            case ["apis"] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.GroupList(catalog)).ConfigureAwait(false);
            case ["apis", var group] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.Group(catalog, group) ?? throw PathNotFound()).ConfigureAwait(false);
            case ["apis", var group, var version] when isGet:
                return await WriteJsonAsync(context, 200, Discovery.ResourceList(catalog, group, version) ?? throw PathNotFound()).ConfigureAwait(false);
            case ["api", "v1", .. var rest] when rest.Length > 0:
                return await ServeResourceAsync(context, Resolve("", "v1", rest), body, user, log).ConfigureAwait(false);
            case ["apis", var group, var version, .. var rest] when rest.Length > 0:
                return await ServeResourceAsync(context, Resolve(group, version, rest), body, user, log).ConfigureAwait(false);
            default:
                throw PathNotFound();
        }
    }

    private Target Resolve(string group, string version, string[] rest)
    {
        if (rest is ["namespaces", var ns, var plural, ..] && catalog.Find(group, version, plural) is { Namespaced: true } namespaced)
        {
            if (rest.Length > 5)
            {
                throw PathNotFound();
            }

            return Checked(new Target(namespaced, ns, rest.ElementAtOrDefault(3), rest.ElementAtOrDefault(4), false));
        }

        var resource = catalog.Find(group, version, rest[0]) ?? throw PathNotFound();
        if (rest.Length > 3 || (resource.Namespaced && rest.Length > 1))
        {
            throw PathNotFound();
        }

        return Checked(new Target(resource, "", rest.ElementAtOrDefault(1), rest.ElementAtOrDefault(2), resource.Namespaced));

        static Target Checked(Target target)
        {
            if (target.Subresource is not null && !(target.Subresource == "status" && target.Resource.HasStatusSubresource))
            {
                throw PathNotFound();
            }

            return target;
        }
    }

    private static string VerbOf(HttpRequest request, Target target)
    {
        var method = request.Method;
        if (HttpMethods.IsGet(method))
        {
            return target.Name is null || IsWatch(request) ? (IsWatch(request) ? "watch" : "list") : "get";
        }

        if (HttpMethods.IsPost(method) && target.Name is null)
        {
            return "create";
        }

        if (HttpMethods.IsPut(method) && target.Name is not null)
        {
            return "update";
        }

        if (HttpMethods.IsPatch(method) && target.Name is not null)
        {
            return "patch";
        }

        if (HttpMethods.IsDelete(method))
        {
            return target.Name is null ? "deletecollection" : "delete";
        }

        var r = target.Resource;
        throw ApiError.MethodNotSupported(r.QualifiedName, r.Name, r.Group, method.ToLowerInvariant());
    }

    private static bool IsWatch(HttpRequest request) => request.Query["watch"].ToString() is "true" or "1";

    private bool IsDenied(string verb, Target target, string user)
    {
        var resource = target.Subresource is null ? target.Resource.Name : $"{target.Resource.Name}/{target.Subresource}";
        lock (denials)
        {
            return denials.Any(d => (d.Verb == "*" || d.Verb == verb)
                && (d.Resource == "*" || d.Resource == resource)
                && (d.Group is null || d.Group == target.Resource.Group)
                && (d.User is null || d.User == user)
                && (d.Namespace is null || d.Namespace == target.Namespace || target.AllNamespaces));
        }
    }

    private async Task<int> ServeResourceAsync(HttpContext context, Target target, string body, string user, Action<int> log)
    {
        var request = context.Request;
        var r = target.Resource;
        var verb = VerbOf(request, target);
        if (r.CreateOnly)
        {
            return await UploadTokenRequestAsync(context, target, verb, body, user).ConfigureAwait(false);
        }

        if (target.AllNamespaces && verb is not ("list" or "watch"))
        {
            throw PathNotFound();
        }

        if (IsDenied(verb, target, user))
        {
            var resource = target.Subresource is null ? r.Name : $"{r.Name}/{target.Subresource}";
            var scope = r.Namespaced && !target.AllNamespaces ? $"in the namespace \"{target.Namespace}\"" : "at the cluster scope";
            throw ApiError.Forbidden(r.QualifiedName, r.Name, r.Group, target.Name,
                $"User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{r.Group}\" {scope}");
        }

        var dryRun = request.Query["dryRun"].ToString() == "All";
        switch (verb)
        {
            case "get":
                {
                    var found = store.Get(r, target.Namespace, target.Name!) ?? throw NotFound(r, target.Name!);
                    return await WriteJsonAsync(context, 200, found.DeepClone()).ConfigureAwait(false);
                }

            case "list":
                return await WriteJsonAsync(context, 200, List(target, request)).ConfigureAwait(false);
            case "watch":
                await WatchAsync(context, target, log).ConfigureAwait(false);
                return 200;
            case "create":
                {
                    var (created, warnings) = Create(target, ParseObject(body), FieldValidation(request), dryRun);
                    AddWarnings(context, warnings);
                    if (!dryRun)
                    {
                        OnChanged();
                    }

                    return await WriteJsonAsync(context, 201, created).ConfigureAwait(false);
                }

            case "update":
                {
                    var (updated, warnings) = Update(target, ParseObject(body), FieldValidation(request), dryRun);
                    AddWarnings(context, warnings);
                    if (!dryRun)
                    {
                        OnChanged();
                    }

                    return await WriteJsonAsync(context, 200, updated).ConfigureAwait(false);
                }

            case "patch":
                {
                    var (patched, warnings) = Patch(target, request.ContentType, body, FieldValidation(request), dryRun);
                    AddWarnings(context, warnings);
                    if (!dryRun)
                    {
                        OnChanged();
                    }

                    return await WriteJsonAsync(context, 200, patched).ConfigureAwait(false);
                }

            case "delete":
                {
                    var (deleted, finished) = Delete(target, body, dryRun, request.Query["propagationPolicy"].ToString());
                    if (!dryRun)
                    {
                        OnChanged();
                    }

                    // The API server answers 202 only for a delete held back that asked for the
                    // legacy orphanDependents: false; 200 otherwise (apiserver's DeleteResource).
                    var legacyCascade = !string.IsNullOrWhiteSpace(body) && ParseObject(body)["orphanDependents"]?.GetValue<bool>() == false;
                    return await WriteJsonAsync(
                        context,
                        !finished && legacyCascade ? 202 : 200,
                        finished && !target.Resource.ReturnsDeletedObject ? DeletedStatus(target.Resource, deleted) : deleted).ConfigureAwait(false);
                }

            default:
                {
                    var deleted = DeleteCollection(target, request, dryRun);
                    if (!dryRun)
                    {
                        OnChanged();
                    }

                    return await WriteJsonAsync(context, 200, deleted).ConfigureAwait(false);
                }
        }
    }

    private static ApiError NotFound(ApiResource r, string name) => ApiError.NotFound(r.QualifiedName, r.Name, r.Group, name);

    private static void AddWarnings(HttpContext context, IReadOnlyList<string> warnings)
    {
        foreach (var warning in warnings)
        {
            context.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }
    }

    private static string FieldValidation(HttpRequest request)
    {
        var value = request.Query["fieldValidation"].ToString();
        return value switch
        {
            "" => "Warn",
            "Strict" or "Warn" or "Ignore" => value,
            _ => throw ApiError.BadRequest($"fieldValidation: Unsupported value: \"{value}\": supported values: \"Ignore\", \"Strict\", \"Warn\""),
        };
    }

    private static JsonObject ParseObject(string body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"json: cannot unmarshal the request body: {e.Message}");
        }

        return node as JsonObject ?? throw ApiError.BadRequest("json: cannot unmarshal " + (node is null ? "null" : "non-object") + " into Go value of type map[string]interface {}");
    }

    private static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject meta)
        {
            return meta;
        }

        meta = [];
        obj["metadata"] = meta;
        return meta;
    }

    /// <summary>The body's apiVersion and kind must be the endpoint's; built-in endpoints fill them in when left out.</summary>
    private static void CheckTypeMeta(ApiResource r, JsonObject obj, string body)
    {
        if (obj["kind"] is { } k && k.GetValueKind() != JsonValueKind.String || obj["apiVersion"] is { } a && a.GetValueKind() != JsonValueKind.String)
        {
            throw ApiError.BadRequest($"Object 'Kind' or 'apiVersion' is not a string in '{body}'");
        }

        var metaErrors = new List<FieldError>();
        StructuralSchema.ValidateMetadata(obj["metadata"] ?? new JsonObject(), metaErrors);
        if (metaErrors.Count > 0)
        {
            throw ApiError.Invalid(r.QualifiedKind, r.Group, r.Kind, "", metaErrors);
        }

        var kind = obj["kind"]?.GetValue<string>();
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        if (r.IsCustom && string.IsNullOrEmpty(kind))
        {
            throw ApiError.BadRequest($"Object 'Kind' is missing in '{body}'");
        }

        if (r.IsCustom && string.IsNullOrEmpty(apiVersion))
        {
            throw ApiError.BadRequest($"Object 'apiVersion' is missing in '{body}'");
        }

        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != r.ApiVersion)
        {
            throw ApiError.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({r.ApiVersion})");
        }

        if (!string.IsNullOrEmpty(kind) && kind != r.Kind)
        {
            throw ApiError.BadRequest($"{kind} in version \"{r.Version}\" cannot be handled as a {r.Kind}: the kind in the data does not match the endpoint");
        }

        obj["apiVersion"] = r.ApiVersion;
        obj["kind"] = r.Kind;
    }

    private static void CheckNamespace(Target target, JsonObject obj)
    {
        var meta = Metadata(obj);
        if (!target.Resource.Namespaced)
        {
            meta.Remove("namespace");
            return;
        }

        var ns = meta["namespace"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(ns) && ns != target.Namespace)
        {
            throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        meta["namespace"] = target.Namespace;
    }

    /// <summary>
    /// Structural pruning and defaulting of a custom resource, with undeclared fields handled as
    /// <c>fieldValidation</c> asks: Strict refuses them (400 for create and update, 422 naming
    /// <c>patch</c> for patches, as the API server words each), Warn drops them with a Warning
    /// header (the default), Ignore drops them silently.
    /// </summary>
    private static List<string> ApplySchema(ApiResource r, JsonObject obj, string directive, bool isPatch)
    {
        var warnings = new List<string>();
        if (r.Schema is null)
        {
            return warnings;
        }

        var before = isPatch && directive == "Strict" ? JsonOutput.Text(obj) : null;
        var unknown = r.Schema.PruneAndDefault(obj);
        if (unknown.Count == 0 || directive == "Ignore")
        {
            return warnings;
        }

        var listed = string.Join(", ", unknown.Select(u => $"unknown field \"{u}\""));
        if (directive == "Warn")
        {
            warnings.AddRange(unknown.Select(u => $"unknown field \"{u}\""));
            return warnings;
        }

        if (isPatch)
        {
            throw ApiError.Invalid("", "", "", "", [FieldError.Invalid("patch", JsonValue.Create(before), "strict decoding error: " + listed)]);
        }

        throw ApiError.BadRequest($"{r.Kind} in version \"{r.Version}\" cannot be handled as a {r.Kind}: strict decoding error: {listed}");
    }

    private static void Validate(ApiResource r, JsonObject obj, string name)
    {
        var errors = new List<FieldError>();
        if (r.Kind == "Namespace")
        {
            if (name.Length > 63 || !DnsLabel.IsMatch(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", JsonValue.Create(name),
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
            }
        }
        else if (name.Length > 253 || !DnsSubdomain.IsMatch(name))
        {
            errors.Add(FieldError.Invalid("metadata.name", JsonValue.Create(name),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }

        if (r.Schema is not null)
        {
            errors.AddRange(r.Schema.Validate(obj));
        }
        else if (r.Kind == "PersistentVolumeClaim")
        {
            if (obj["spec"]?["accessModes"] is not JsonArray { Count: > 0 })
            {
                errors.Add(FieldError.Required("spec.accessModes", "at least 1 access mode is required"));
            }

            if (obj["spec"]?["resources"]?["requests"]?["storage"] is null && obj["spec"]?["dataSourceRef"] is null)
            {
                errors.Add(FieldError.Required("spec.resources[storage]"));
            }
        }

        if (errors.Count > 0)
        {
            throw ApiError.Invalid(r.QualifiedKind, r.Group, r.Kind, name, errors);
        }
    }

    /// <summary>CDI registers its DataVolume webhook for the resource itself, not its status.</summary>
    private void CheckWebhooks(ApiResource r, JsonObject next, JsonObject current, string? subresource)
    {
        if (subresource is null)
        {
            DataVolumeAdmission.Check(this, r, next, current);
        }
    }

    private (JsonObject Created, List<string> Warnings) Create(Target target, JsonObject obj, string directive, bool dryRun)
    {
        var r = target.Resource;
        var body = obj.ToJsonString();
        CheckTypeMeta(r, obj, body);
        var meta = Metadata(obj);
        if (!string.IsNullOrEmpty(meta["resourceVersion"]?.GetValue<string>()))
        {
            throw ApiError.BadRequest("resourceVersion should not be set on objects to be created");
        }

        CheckNamespace(target, obj);
        var warnings = ApplySchema(r, obj, directive, isPatch: false);
        if (r.HasStatusSubresource && r.IsCustom)
        {
            obj.Remove("status");
        }

        lock (store.Gate)
        {
            var name = meta["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name))
            {
                var prefix = meta["generateName"]?.GetValue<string>();
                if (string.IsNullOrEmpty(prefix))
                {
                    throw ApiError.Invalid(r.QualifiedKind, r.Group, r.Kind, "", [FieldError.Required("metadata.name", "name or generateName is required")]);
                }

                do
                {
                    name = prefix + RandomSuffix();
                }
                while (store.Get(r, target.Namespace, name) is not null);
                meta["name"] = name;
            }

            Validate(r, obj, name);
            if (r.Namespaced && store.Get(catalog.Find("", "v1", "namespaces")!, "", target.Namespace) is null)
            {
                throw ApiError.NotFound("namespaces", "namespaces", "", target.Namespace);
            }

            // Validating webhooks see the object after the schema and before storage.
            DataVolumeAdmission.Check(this, r, obj, null);
            return (CreateLocked(r, obj, dryRun).DeepClone().AsObject(), warnings);
        }
    }

    /// <summary>
    /// Stores a new object as a create request does once it has passed validation and webhooks:
    /// server-set fields, what admission adds, then the LimitRanger and ResourceQuota checks, which
    /// throw the API server's 403. The simulated controllers create through here too, so quotas
    /// refuse them as they refuse clients. Callers hold the store's gate.
    /// </summary>
    internal JsonObject CreateLocked(ApiResource r, JsonObject obj, bool dryRun = false)
    {
        if (store.Get(r, ObjectStore.NamespaceOf(obj), ObjectStore.NameOf(obj)) is not null)
        {
            throw ApiError.AlreadyExists(r.QualifiedName, r.Name, r.Group, ObjectStore.NameOf(obj));
        }

        Stamp(r, obj);
        Admit(r, obj);
        StorageAdmission.Check(this, r, obj);
        if (dryRun)
        {
            return obj;
        }

        var stored = store.Put(r, obj);
        if (r.Kind == "PersistentVolumeClaim")
        {
            StorageAdmission.Charge(this, stored);
        }

        return stored;
    }

    /// <summary>What admission plugins and registry strategies add to new built-in objects that clients rely on.</summary>
    private void Admit(ApiResource r, JsonObject obj)
    {
        var meta = Metadata(obj);
        switch (r.Kind)
        {
            case "Namespace":
                var labels = meta["labels"] as JsonObject ?? [];
                meta["labels"] = labels;
                labels["kubernetes.io/metadata.name"] = meta["name"]!.GetValue<string>();
                obj["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] = new JsonObject { ["phase"] = "Active" };
                break;
            case "PersistentVolumeClaim":
                var spec = obj["spec"] as JsonObject ?? [];
                obj["spec"] = spec;

                // The DefaultStorageClass admission plugin fills an absent class (not an empty one).
                if (!spec.ContainsKey("storageClassName") && Controllers.DefaultStorageClass(this) is { } defaultClass)
                {
                    spec["storageClassName"] = defaultClass;
                }

                spec["volumeMode"] ??= "Filesystem";
                obj["status"] = new JsonObject { ["phase"] = "Pending" };
                break;
            case "PersistentVolume":
                // The registry starts every volume Pending; the PV controller makes it Available.
                obj["status"] = new JsonObject { ["phase"] = "Pending" };
                break;
            case "Secret":
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject stringData)
                {
                    var data = obj["data"] as JsonObject ?? [];
                    obj["data"] = data;
                    foreach (var (key, value) in stringData)
                    {
                        data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value?.GetValue<string>() ?? ""));
                    }

                    obj.Remove("stringData");
                }

                break;
        }
    }

    private static string RandomSuffix()
    {
        // The API server's alphabet for generated names: no vowels, no confusable characters.
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    private void ConsumeInjectedConflict(ApiResource r, JsonObject current)
    {
        lock (injectedConflicts)
        {
            if (!injectedConflicts.TryGetValue(r.Name, out var left) || left <= 0)
            {
                return;
            }

            injectedConflicts[r.Name] = left - 1;
        }

        // Another writer got there first: its write is what moved the resourceVersion on.
        store.Put(r, current.DeepClone().AsObject());
        throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, ObjectStore.NameOf(current), Conflicted);
    }

    /// <summary>
    /// Applies the status-subresource split: a write to <c>/status</c> changes only status, a write
    /// to the main resource changes everything but status.
    /// </summary>
    private static JsonObject SplitStatus(ApiResource r, JsonObject current, JsonObject next, string? subresource)
    {
        if (subresource == "status")
        {
            var result = current.DeepClone().AsObject();
            if (next["status"] is { } status)
            {
                result["status"] = status.DeepClone();
            }
            else
            {
                result.Remove("status");
            }

            Metadata(result)["resourceVersion"] = Metadata(next)["resourceVersion"]?.DeepClone();
            return result;
        }

        if (r.HasStatusSubresource)
        {
            if (current["status"] is { } kept)
            {
                next["status"] = kept.DeepClone();
            }
            else
            {
                next.Remove("status");
            }
        }

        return next;
    }

    private (JsonObject Updated, List<string> Warnings) Update(Target target, JsonObject obj, string directive, bool dryRun)
    {
        var r = target.Resource;
        CheckTypeMeta(r, obj, obj.ToJsonString());
        var meta = Metadata(obj);
        var name = meta["name"]?.GetValue<string>();
        if (name != target.Name)
        {
            throw ApiError.BadRequest($"the name of the object ({name}) does not match the name on the URL ({target.Name})");
        }

        CheckNamespace(target, obj);
        lock (store.Gate)
        {
            var current = store.Get(r, target.Namespace, target.Name!) ?? throw NotFound(r, target.Name!);
            var version = meta["resourceVersion"]?.GetValue<string>();
            if (string.IsNullOrEmpty(version))
            {
                if (!r.AllowUnconditionalUpdate)
                {
                    throw ApiError.Invalid(r.QualifiedKind, r.Group, r.Kind, target.Name!,
                        [FieldError.InvalidRaw("metadata.resourceVersion", "0x0", "must be specified for an update")]);
                }

                meta["resourceVersion"] = Metadata(current)["resourceVersion"]!.DeepClone();
            }
            else if (version != Metadata(current)["resourceVersion"]!.GetValue<string>())
            {
                throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, target.Name!, Conflicted);
            }

            if (meta["uid"]?.GetValue<string>() is { Length: > 0 } uid && uid != Metadata(current)["uid"]!.GetValue<string>())
            {
                throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, target.Name!,
                    $"Precondition failed: UID in precondition: {uid}, UID in object meta: {Metadata(current)["uid"]}");
            }

            ConsumeInjectedConflict(r, current);
            var warnings = ApplySchema(r, obj, directive, isPatch: false);
            var next = SplitStatus(r, current, obj, target.Subresource);
            Validate(r, next, target.Name!);
            CheckWebhooks(r, next, current, target.Subresource);
            return (Commit(r, current, next, dryRun).DeepClone().AsObject(), warnings);
        }
    }

    private (JsonObject Patched, List<string> Warnings) Patch(Target target, string? contentType, string body, string directive, bool dryRun)
    {
        var r = target.Resource;
        var mediaType = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        var accepted = r.IsCustom ? new[] { JsonPatch, MergePatch, ApplyPatch } : [JsonPatch, MergePatch, StrategicMergePatch, ApplyPatch];

        // Server-side apply is not simulated: it is answered as an unknown format rather than
        // applied with the wrong (merge) semantics.
        if (!accepted.Contains(mediaType) || mediaType == ApplyPatch)
        {
            throw ApiError.UnsupportedMediaType(accepted);
        }

        lock (store.Gate)
        {
            var current = store.Get(r, target.Namespace, target.Name!) ?? throw NotFound(r, target.Name!);
            var working = current.DeepClone().AsObject();
            JsonObject patched;
            if (mediaType == JsonPatch)
            {
                JsonPatchDocument document;
                try
                {
                    document = JsonSerializer.Deserialize<JsonPatchDocument>(body) ?? throw ApiError.BadRequest("the patch is empty");
                }
                catch (Exception e) when (e is JsonException or JsonPatchException)
                {
                    throw ApiError.BadRequest(e.Message);
                }

                try
                {
                    document.ApplyTo(working);
                }
                catch (JsonPatchException e)
                {
                    throw new ApiErrorBuilder(422, "Invalid", "the server rejected our request due to an error in our request")
                        .Cause("UnexpectedServerResponse", e.Message)
                        .Build();
                }

                patched = working;
            }
            else
            {
                // Strategic merge differs from a merge patch only in how it merges lists with merge
                // keys; for the built-in fields CdiTools patches (labels, annotations, scalars) the two agree.
                JsonNode? patch;
                try
                {
                    patch = JsonNode.Parse(body);
                }
                catch (JsonException e)
                {
                    throw ApiError.BadRequest(e.Message);
                }

                patched = ApplyMergePatch(working, patch) as JsonObject
                    ?? throw ApiError.BadRequest("the patch does not leave an object");
            }

            var meta = Metadata(patched);
            if (meta["name"]?.GetValue<string>() != target.Name)
            {
                throw ApiError.BadRequest($"the name of the object ({meta["name"]}) does not match the name on the URL ({target.Name})");
            }

            CheckNamespace(target, patched);
            CheckTypeMeta(r, patched, patched.ToJsonString());
            var version = meta["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(version) && version != Metadata(current)["resourceVersion"]!.GetValue<string>())
            {
                throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, target.Name!, Conflicted);
            }

            meta["resourceVersion"] = Metadata(current)["resourceVersion"]!.DeepClone();
            ConsumeInjectedConflict(r, current);
            var warnings = ApplySchema(r, patched, directive, isPatch: true);
            var next = SplitStatus(r, current, patched, target.Subresource);
            Validate(r, next, target.Name!);
            CheckWebhooks(r, next, current, target.Subresource);
            return (Commit(r, current, next, dryRun).DeepClone().AsObject(), warnings);
        }
    }

    /// <summary>
    /// RFC 7386 JSON merge patch. Written here because no package served to this project applies
    /// merge patches to System.Text.Json nodes; the RFC's algorithm is these few lines.
    /// </summary>
    internal static JsonNode? ApplyMergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
                continue;
            }

            result.TryGetPropertyValue(key, out var existing);
            var merged = ApplyMergePatch(existing, value);
            if (!ReferenceEquals(merged, existing))
            {
                result.Remove(key);
                result[key] = merged;
            }
        }

        return result;
    }

    // The Status a registry without ReturnDeletedObject answers once the object is gone.
    private static JsonObject DeletedStatus(ApiResource r, JsonObject deleted) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Success",
        ["details"] = new JsonObject
        {
            ["name"] = Metadata(deleted)["name"]?.DeepClone(),
            ["group"] = r.Group,
            ["kind"] = r.Name,
            ["uid"] = Metadata(deleted)["uid"]?.DeepClone(),
        },
    };

    private (JsonObject Deleted, bool Finished) Delete(Target target, string body, bool dryRun, string propagation)
    {
        var r = target.Resource;
        JsonObject? options = null;
        if (!string.IsNullOrWhiteSpace(body))
        {
            options = ParseObject(body);
            dryRun |= options["dryRun"] is JsonArray { Count: > 0 } asked && asked.Any(a => a?.GetValue<string>() == "All");
            propagation = options["propagationPolicy"]?.GetValue<string>() ?? propagation;
            if (propagation.Length == 0 && options["orphanDependents"]?.GetValue<bool>() == true)
            {
                propagation = "Orphan";
            }
        }

        if (propagation is not ("" or "Background" or "Foreground" or "Orphan"))
        {
            throw ApiError.Invalid("DeleteOptions", "", "", "",
                [FieldError.NotSupported("propagationPolicy", JsonValue.Create(propagation), ["Foreground", "Background", "Orphan", "nil"])]);
        }

        lock (store.Gate)
        {
            var current = store.Get(r, target.Namespace, target.Name!) ?? throw NotFound(r, target.Name!);
            var meta = Metadata(current);
            if (options?["preconditions"] is JsonObject preconditions)
            {
                if (preconditions["uid"]?.GetValue<string>() is { } uid && uid != meta["uid"]?.GetValue<string>())
                {
                    throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, target.Name!,
                        $"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta["uid"]}");
                }

                if (preconditions["resourceVersion"]?.GetValue<string>() is { } version && version != meta["resourceVersion"]?.GetValue<string>())
                {
                    throw ApiError.Conflict(r.QualifiedName, r.Name, r.Group, target.Name!,
                        $"Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {meta["resourceVersion"]}");
                }
            }

            ConsumeInjectedConflict(r, current);
            if (!dryRun && propagation == "Orphan")
            {
                garbage.Orphan(meta["uid"]!.GetValue<string>());
            }
            else if (!dryRun && propagation == "Foreground" && meta["deletionTimestamp"] is null)
            {
                // The API server parks the owner behind this finalizer until the collector has
                // deleted its dependents.
                var parked = current.DeepClone().AsObject();
                var finalizers = Metadata(parked)["finalizers"] as JsonArray ?? [];
                finalizers.Add(GarbageCollector.ForegroundFinalizer);
                Metadata(parked)["finalizers"] = finalizers;
                current = store.Put(r, parked);
            }

            return DeleteLocked(r, current, dryRun);
        }
    }

    /// <summary>Deletes at once, or marks for deletion while finalizers remain. Callers hold the store's gate.</summary>
    internal (JsonObject Deleted, bool Finished) DeleteLocked(ApiResource r, JsonObject current, bool dryRun)
    {
        var meta = Metadata(current);
        if (meta["finalizers"] is JsonArray { Count: > 0 })
        {
            if (meta["deletionTimestamp"] is not null || dryRun)
            {
                return (current.DeepClone().AsObject(), false);
            }

            var marked = current.DeepClone().AsObject();
            Metadata(marked)["deletionTimestamp"] = Now();
            Metadata(marked)["deletionGracePeriodSeconds"] = 0;
            return (store.Put(r, marked).DeepClone().AsObject(), false);
        }

        if (dryRun)
        {
            return (current.DeepClone().AsObject(), true);
        }

        store.Remove(r, ObjectStore.NamespaceOf(current), ObjectStore.NameOf(current));
        if (r.Kind == "Namespace")
        {
            // Stands in for the namespace controller, which empties a terminating namespace.
            var ns = ObjectStore.NameOf(current);
            foreach (var namespaced in catalog.All.Where(c => c.Namespaced && !c.CreateOnly))
            {
                foreach (var item in store.List(namespaced, ns))
                {
                    store.Remove(namespaced, ns, ObjectStore.NameOf(item));
                }
            }
        }

        return (current.DeepClone().AsObject(), true);
    }

    private JsonObject DeleteCollection(Target target, HttpRequest request, bool dryRun)
    {
        var r = target.Resource;
        var labels = LabelSelector.Parse(request.Query["labelSelector"]);
        var fields = FieldSelector.Parse(request.Query["fieldSelector"], r);
        var items = new JsonArray();
        lock (store.Gate)
        {
            foreach (var item in store.List(r, target.AllNamespaces ? null : target.Namespace).Where(o => labels.Matches(o) && fields.Matches(o)))
            {
                items.Add(DeleteLocked(r, item, dryRun).Deleted);
            }

            return ListDocument(r, items, store.CurrentVersion, null, null);
        }
    }

    private JsonObject List(Target target, HttpRequest request)
    {
        var r = target.Resource;
        var labels = LabelSelector.Parse(request.Query["labelSelector"]);
        var fields = FieldSelector.Parse(request.Query["fieldSelector"], r);
        var limit = int.TryParse(request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : int.MaxValue;
        var after = DecodeContinue(request.Query["continue"].ToString());
        lock (store.Gate)
        {
            var matching = store.List(r, target.AllNamespaces ? null : target.Namespace)
                .Where(o => labels.Matches(o) && fields.Matches(o))
                .Where(o => after is null || string.CompareOrdinal(Key(o), after) > 0)
                .ToList();
            var items = new JsonArray();
            foreach (var item in matching.Take(limit))
            {
                var copy = item.DeepClone().AsObject();
                if (!r.IsCustom)
                {
                    // Built-in lists leave out each item's apiVersion and kind; custom resource lists keep them.
                    copy.Remove("apiVersion");
                    copy.Remove("kind");
                }

                items.Add(copy);
            }

            string? next = null;
            long? remaining = null;
            if (matching.Count > limit)
            {
                next = Convert.ToBase64String(Encoding.UTF8.GetBytes(Key(matching[limit - 1])));
                remaining = matching.Count - limit;
            }

            return ListDocument(r, items, store.CurrentVersion, next, remaining);
        }

        static string Key(JsonObject o) => ObjectStore.NamespaceOf(o) + "/" + ObjectStore.NameOf(o);
    }

    private static string? DecodeContinue(string token)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw ApiError.BadRequest("continue key is not valid: illegal base64 data");
        }
    }

    private static JsonObject ListDocument(ApiResource r, JsonArray items, long version, string? next, long? remaining)
    {
        var metadata = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
        {
            metadata["continue"] = next;
            metadata["remainingItemCount"] = remaining;
        }

        return new JsonObject
        {
            ["apiVersion"] = r.ApiVersion,
            ["kind"] = r.Kind + "List",
            ["metadata"] = metadata,
            ["items"] = items,
        };
    }

    /// <summary>
    /// CDI's aggregated upload API: POST only, answered with the request plus a token. Its own
    /// authorizer answers a denied SubjectAccessReview with a bare 401 and the review's (empty)
    /// reason as plain text, not with a Status; that is kept, since clients see exactly that.
    /// </summary>
    private async Task<int> UploadTokenRequestAsync(HttpContext context, Target target, string verb, string body, string user)
    {
        var r = target.Resource;
        if (verb != "create" || target.AllNamespaces)
        {
            throw PathNotFound();
        }

        if (IsDenied(verb, target, user))
        {
            throw ApiError.UnauthorizedText("");
        }

        var obj = ParseObject(body);
        var pvc = obj["spec"]?["pvcName"]?.GetValue<string>() ?? "";
        var issued = DateTimeOffset.UtcNow;
        var expires = issued.AddMinutes(5);
        var token = UploadToken(target.Namespace, pvc, issued, expires);
        uploadTokens.Enqueue(new FakeUploadToken(token, target.Namespace, pvc, expires) { Issued = issued });
        obj["apiVersion"] ??= r.ApiVersion;
        obj["kind"] ??= r.Kind;
        var status = obj["status"] as JsonObject ?? [];
        obj["status"] = status;
        status["token"] = token;
        return await WriteJsonAsync(context, 200, obj).ConfigureAwait(false);
    }

    /// <summary>A token shaped like CDI's (a signed JWT naming the PVC); only the fake upload proxy needs to accept it.</summary>
    private static string UploadToken(string ns, string pvc, DateTimeOffset issued, DateTimeOffset expires)
    {
        static string Segment(JsonObject part) => Base64Url(Encoding.UTF8.GetBytes(part.ToJsonString()));
        static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = issued.ToUnixTimeSeconds();
        var header = new JsonObject { ["alg"] = "PS256", ["typ"] = "JWT" };
        var payload = new JsonObject
        {
            ["iss"] = "cdi-apiserver",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["operation"] = "Upload",
            ["name"] = pvc,
            ["namespace"] = ns,
            ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "persistentvolumeclaims" },
        };
        return $"{Segment(header)}.{Segment(payload)}.{Base64Url(RandomNumberGenerator.GetBytes(64))}";
    }
}

/// <summary>Builds Status errors whose details carry only causes, as the API server's generic responses do.</summary>
internal sealed class ApiErrorBuilder(int code, string reason, string message)
{
    private readonly JsonArray causes = [];

    public ApiErrorBuilder Cause(string causeReason, string causeMessage)
    {
        causes.Add(new JsonObject { ["reason"] = causeReason, ["message"] = causeMessage });
        return this;
    }

    public ApiError Build() => ApiError.Generic(code, reason, message, new JsonObject { ["causes"] = causes });
}
