using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// CDI's validating webhook for DataVolumes (<c>datavolume-validate.cdi.kubevirt.io</c>), with the
/// rules and cause messages of CDI v1.66 (pkg/apiserver/webhooks/datavolume-validate.go and
/// util.go), refusing as the API server passes a webhook's refusal on. It runs after the CRD's
/// structural validation, as webhooks do, so what the schema already refuses never reaches it.
/// </summary>
internal static partial class DataVolumeAdmission
{
    public const string WebhookName = "datavolume-validate.cdi.kubevirt.io";

    private const string Invalid = "FieldValueInvalid";
    private const string Duplicate = "FieldValueDuplicate";
    private const long MiB = 1 << 20;
    private const string SupportedAccessModes = "\"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"";

    private static readonly string[] AccessModes = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];
    private static readonly string[] SourceKinds = ["http", "s3", "gcs", "registry", "pvc", "upload", "blank", "imageio", "vddk", "snapshot"];
    private static readonly string[] VddkRequiredFields = ["secretRef", "uuid", "backingFile", "thumbprint"];

    /// <summary>One refusal reason, shaped like a Status cause.</summary>
    private sealed record Cause(string Type, string Message, string Field);

    /// <summary>
    /// Throws the webhook's refusal when <paramref name="dataVolume"/> (after the schema, before
    /// storage) is one CDI refuses; <paramref name="old"/> is the stored object for updates.
    /// </summary>
    public static void Check(FakeApiServer server, ApiResource r, JsonObject dataVolume, JsonObject? old)
    {
        if (r.Group != "cdi.kubevirt.io" || r.Kind != "DataVolume" || !server.DataVolumeWebhook)
        {
            return;
        }

        var causes = old is null ? CheckCreate(server, dataVolume) : CheckUpdate(dataVolume, old);
        if (causes.Count == 0)
        {
            return;
        }

        // CDI's response puts a space before each cause's message, so the API server's message
        // reads "denied the request:  Missing ..." with two spaces; clients see exactly that.
        var message = string.Concat(causes.Select(c => " " + c.Message));
        var array = new JsonArray();
        foreach (var cause in causes)
        {
            array.Add(new JsonObject { ["reason"] = cause.Type, ["message"] = cause.Message, ["field"] = cause.Field });
        }

        throw ApiError.WebhookDenied(WebhookName, 422, message, array);
    }

    private static List<Cause> CheckUpdate(JsonObject dataVolume, JsonObject old)
    {
        var spec = dataVolume["spec"]?.DeepClone();
        var oldSpec = old["spec"]?.DeepClone();

        // Checkpoint lists of multi-stage (VDDK, ImageIO) imports are the one spec change allowed.
        if (spec is JsonObject s && oldSpec is JsonObject o && s["checkpoints"] is JsonArray { Count: > 0 }
            && (s["source"]?["vddk"] is not null || s["source"]?["imageio"] is not null))
        {
            foreach (var either in new[] { s, o })
            {
                either.Remove("checkpoints");
                either.Remove("finalCheckpoint");
            }
        }

        return JsonNode.DeepEquals(spec, oldSpec) ? [] : [new Cause(Duplicate, "Cannot update DataVolume Spec", "DataVolume.Spec")];
    }

    private static List<Cause> CheckCreate(FakeApiServer server, JsonObject dataVolume)
    {
        var meta = dataVolume["metadata"] as JsonObject ?? [];
        var ns = meta["namespace"]?.GetValue<string>() ?? "";
        var name = meta["name"]?.GetValue<string>() ?? "";
        var pvcs = server.Catalog.Find("", "v1", "persistentvolumeclaims")!;
        if (server.Store.Get(pvcs, ns, name) is { } existing && !MayUseExistingClaim(existing, dataVolume))
        {
            var owner = (existing["metadata"]?["ownerReferences"] as JsonArray)?
                .FirstOrDefault(o => o?["controller"]?.GetValue<bool>() == true);
            if (owner?["kind"]?.GetValue<string>() != "DataVolume")
            {
                return [new Cause(Duplicate, $"Destination PVC {ns}/{name} already exists", "DataVolume.Name")];
            }
        }

        return CheckSpec(dataVolume["spec"] as JsonObject ?? []);
    }

    /// <summary>A claim populated for this DataVolume, or one it is allowed to adopt, may exist first.</summary>
    private static bool MayUseExistingClaim(JsonObject pvc, JsonObject dataVolume)
    {
        var name = dataVolume["metadata"]?["name"]?.GetValue<string>();
        if (Annotation(pvc, "cdi.kubevirt.io/storage.populatedFor") == name)
        {
            return true;
        }

        // The ClaimAdoption feature gate is off in a default install, so only the annotation counts.
        return bool.TryParse(Annotation(dataVolume, "cdi.kubevirt.io/allowClaimAdoption"), out var allowed) && allowed;
    }

    private static List<Cause> CheckSpec(JsonObject spec)
    {
        var pvc = spec["pvc"] as JsonObject;
        var storage = spec["storage"] as JsonObject;
        if (pvc is null && storage is null)
        {
            return [new Cause(Invalid, "Missing Data volume PVC", "spec.PVC")];
        }

        if (pvc is not null && storage is not null)
        {
            return [new Cause(Invalid, "Duplicate storage definition, both target storage and target pvc defined", "spec.PVC.Storage")];
        }

        var source = spec["source"] as JsonObject;
        var sourceRef = spec["sourceRef"] as JsonObject;
        var target = (pvc ?? storage)!;
        if (CheckSize(spec, target, pvc is not null ? "PVC" : "Storage", source, sourceRef) is { } size)
        {
            return [size];
        }

        if (TextOrJson(target["storageClassName"]) is { Length: > 253 })
        {
            return [new Cause(Invalid, "Name cannot be longer than 253 characters", "")];
        }

        if (CheckAccessModes(pvc, storage) is { } modes)
        {
            return [modes];
        }

        if (target["dataSource"] is not null || target["dataSourceRef"] is not null)
        {
            return source is not null || sourceRef is not null
                ? [new Cause(Invalid, "External population is incompatible with Source and SourceRef", "spec.source")]
                : [];
        }

        if ((source is null) == (sourceRef is null))
        {
            return [new Cause(Invalid, "Data volume should have either Source or SourceRef, or be externally populated", "spec.source")];
        }

        if (sourceRef is not null)
        {
            return CheckSourceRef(sourceRef);
        }

        return CheckSource(source!, TextOrJson(spec["contentType"]) ?? "");
    }

    private static Cause? CheckSize(JsonObject spec, JsonObject target, string name, JsonObject? source, JsonObject? sourceRef)
    {
        // Only the storage API, and only for clones, may leave the size for CDI to take from the source.
        var isClone = sourceRef is not null || source?["pvc"] is JsonObject || source?["snapshot"] is JsonObject;
        var field = $"spec.{name}.resources.requests.size";
        if (target["resources"]?["requests"]?["storage"] is { } requested)
        {
            if (Quantities.Bytes(requested) is not { } bytes)
            {
                return null;
            }

            if (bytes <= 0)
            {
                return new Cause(Invalid, $"{name} size can't be equal or less than zero", field);
            }

            if (bytes < MiB)
            {
                return new Cause(Invalid, $"{name} size should be at least 1MiB", field);
            }

            return null;
        }

        return spec["storage"] is null || !isClone ? new Cause(Invalid, $"{name} size is missing", field) : null;
    }

    private static Cause? CheckAccessModes(JsonObject? pvc, JsonObject? storage)
    {
        const string field = "spec.PVC.accessModes";
        if (pvc is not null)
        {
            var modes = (pvc["accessModes"] as JsonArray)?.Select(TextOrJson).ToList() ?? [];
            if (modes.Count == 0)
            {
                return new Cause(Invalid, "Required value: at least 1 access mode is required", field);
            }

            if (modes.Count > 1)
            {
                return new Cause(Invalid, "PVC multiple accessModes", field);
            }

            return AccessModes.Contains(modes[0])
                ? null
                : new Cause(Invalid, $"Unsupported value: \"{modes[0]}\": supported values: {SupportedAccessModes}", field);
        }

        // The storage API allows none or several; CDI names the first one whichever is wrong.
        var listed = (storage!["accessModes"] as JsonArray)?.Select(TextOrJson).ToList() ?? [];
        return listed.Any(m => !AccessModes.Contains(m))
            ? new Cause(Invalid, $"Unsupported value: \"{listed[0]}\": supported values: {SupportedAccessModes}", field)
            : null;
    }

    private static List<Cause> CheckSourceRef(JsonObject sourceRef)
    {
        var kind = TextOrJson(sourceRef["kind"]) ?? "";
        if (kind.Length == 0)
        {
            return [new Cause(Invalid, "Missing sourceRef kind", "spec.sourceRef.Kind")];
        }

        if (kind != "DataSource")
        {
            return [new Cause(Invalid, $"Unsupported sourceRef kind {kind}, currently only DataSource is supported", "spec.sourceRef.Kind")];
        }

        return string.IsNullOrEmpty(TextOrJson(sourceRef["name"])) ? [new Cause(Invalid, "Missing sourceRef name", "spec.sourceRef.Name")] : [];
    }

    private static List<Cause> CheckSource(JsonObject source, string contentType)
    {
        var present = SourceKinds.Where(k => source[k] is JsonObject).ToList();
        if (present.Count != 1)
        {
            return [new Cause(Invalid, present.Count == 0 ? "Missing Data volume source" : "Multiple Data volume sources", "spec.source")];
        }

        if (contentType is not ("" or "kubevirt" or "archive"))
        {
            return [new Cause(Invalid, "ContentType not one of: kubevirt, archive", "spec.contentType")];
        }

        var kind = present[0];
        var s = (JsonObject)source[kind]!;
        return kind switch
        {
            "http" => [.. Url(s, "HTTP"), .. Checksum(s)],
            "s3" => Url(s, "S3"),
            "gcs" => Url(s, "GCS"),
            "blank" when contentType == "archive" => [new Cause(Invalid, "SourceType cannot be blank and the contentType be archive", "spec.contentType")],
            "registry" => Registry(s, contentType),
            "imageio" => ImageIo(s),
            "vddk" => Vddk(s),
            "pvc" when string.IsNullOrEmpty(TextOrJson(s["namespace"])) || string.IsNullOrEmpty(TextOrJson(s["name"])) =>
                [new Cause(Invalid, "spec.source.PVC source PVC is not valid", "spec.source.PVC")],
            "snapshot" when string.IsNullOrEmpty(TextOrJson(s["namespace"])) || string.IsNullOrEmpty(TextOrJson(s["name"])) =>
                [new Cause(Invalid, "spec.source.Snapshot source snapshot is not valid", "spec.source.Snapshot")],
            _ => [],
        };
    }

    private static List<Cause> Registry(JsonObject registry, string contentType)
    {
        if (contentType is not ("" or "kubevirt"))
        {
            return [new Cause(Invalid, "ContentType must be kubevirt when Source is Registry", "spec.contentType")];
        }

        var url = TextOrJson(registry["url"]);
        var imageStream = TextOrJson(registry["imageStream"]);
        if ((url is null) == (imageStream is null))
        {
            return [new Cause(Invalid, "Source registry should have either URL or ImageStream", "spec.source.Registry")];
        }

        if (url is not null)
        {
            // Go's url.Parse refuses control characters and spaces in the host; anything else parses.
            if (url.Any(char.IsControl) || (SchemeOf(url) is not null && url.Contains(' ', StringComparison.Ordinal)))
            {
                return [new Cause(Invalid, $"Illegal registry source URL {url}", "spec.source.Registry.URL")];
            }

            if (SchemeOf(url) is not ("docker" or "oci-archive"))
            {
                return [new Cause(Invalid, $"Illegal registry source URL scheme {url}", "spec.source.Registry.URL")];
            }
        }

        var pullMethod = TextOrJson(registry["pullMethod"]);
        if (pullMethod is not null and not ("pod" or "node"))
        {
            return [new Cause(Invalid, $"ImportMethod {pullMethod} is neither pod, node or \"\"", "spec.source.Registry.importMethod")];
        }

        if (imageStream is not null && imageStream.Length == 0)
        {
            return [new Cause(Invalid, "Source registry ImageStream is not valid", "spec.source.Registry.importMethod")];
        }

        return imageStream is not null && pullMethod != "node"
            ? [new Cause(Invalid, "Source registry ImageStream is supported only with node pull import method", "spec.source.Registry.importMethod")]
            : [];
    }

    private static List<Cause> ImageIo(JsonObject imageio)
    {
        if (string.IsNullOrEmpty(TextOrJson(imageio["secretRef"])) || string.IsNullOrEmpty(TextOrJson(imageio["diskId"])))
        {
            return [new Cause(Invalid, "spec.source.Imageio source Imageio is not valid", "spec.source.Imageio")];
        }

        if (string.IsNullOrEmpty(TextOrJson(imageio["certConfigMap"])) && imageio["insecureSkipVerify"]?.GetValue<bool>() != true)
        {
            return [new Cause(Invalid, "spec.source.Imageio source Imageio requires CertConfigMap or InsecureSkipVerify", "spec.source.Imageio")];
        }

        return Url(imageio, "ImageIO");
    }

    private static List<Cause> Vddk(JsonObject vddk)
    {
        return VddkRequiredFields.Any(f => string.IsNullOrEmpty(TextOrJson(vddk[f])))
            ? [new Cause(Invalid, "spec.source.VDDK source VDDK is not valid", "spec.source.VDDK")]
            : Url(vddk, "VDDK");
    }

    /// <summary>The import URL rule: Go's ParseRequestURI must accept it and its scheme be http, https or gs.</summary>
    private static List<Cause> Url(JsonObject source, string type)
    {
        var url = TextOrJson(source["url"]) ?? "";
        string? problem;
        if (url.Length == 0)
        {
            problem = "source URL is empty";
        }
        else if (url.Any(char.IsControl) || (SchemeOf(url) is null && !url.StartsWith('/')))
        {
            problem = $"Invalid source URL: {url}";
        }
        else
        {
            problem = SchemeOf(url) is "http" or "https" or "gs" ? null : $"Invalid source URL scheme: {url}";
        }

        return problem is null ? [] : [new Cause(Invalid, $"spec.source {problem}", $"spec.source.{type}.url")];
    }

    /// <summary>CDI's checksum format, "algorithm:hex", with the wording of its parser's errors.</summary>
    private static List<Cause> Checksum(JsonObject http)
    {
        var text = TextOrJson(http["checksum"]) ?? "";
        if (text.Length == 0)
        {
            return [];
        }

        string? problem = null;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            problem = $"invalid checksum format: expected 'algorithm:hash', got '{text}'";
        }
        else
        {
            var algorithm = text[..colon].Trim().ToLowerInvariant();
            var hash = text[(colon + 1)..].Trim().ToLowerInvariant();
            int? length = algorithm switch { "md5" => 32, "sha1" => 40, "sha256" => 64, "sha512" => 128, _ => null };
            if (hash.Length == 0)
            {
                problem = "checksum hash value cannot be empty";
            }
            else if (length is null)
            {
                problem = $"unsupported hash algorithm '{algorithm}': supported algorithms are: md5, sha1, sha256, sha512";
            }
            else if (hash.Length != length)
            {
                problem = $"invalid {algorithm} hash length: expected {length} hex characters, got {hash.Length}";
            }
            else if (hash.FirstOrDefault(c => !Uri.IsHexDigit(c)) is var bad && bad != default)
            {
                var shown = char.IsControl(bad) ? "" : $" '{bad}'";
                problem = $"checksum hash is not valid hexadecimal: encoding/hex: invalid byte: U+{(int)bad:X4}{shown}";
            }
        }

        return problem is null ? [] : [new Cause(Invalid, $"Invalid checksum format: {problem}", "spec.source.HTTP.checksum")];
    }

    /// <summary>A URL's scheme as Go reads it (letters first, then letters, digits, +, - or ., before a colon), lower-cased; null when it has none.</summary>
    private static string? SchemeOf(string url)
    {
        var match = SchemePattern().Match(url);
        return match.Success ? match.Groups[1].Value.ToLowerInvariant() : null;
    }

    private static string? Annotation(JsonObject obj, string key) => TextOrJson(obj["metadata"]?["annotations"]?[key]);

    /// <summary>
    /// Unlike <see cref="JsonStrings.Text"/>, a value that is not a string reads as its JSON text,
    /// so the webhook's checks for missing fields take a field given with another type as given.
    /// </summary>
    private static string? TextOrJson(JsonNode? node) => JsonStrings.Text(node) ?? node?.ToJsonString();

    [GeneratedRegex("^([A-Za-z][A-Za-z0-9+.\\-]*):", RegexOptions.CultureInvariant)]
    private static partial Regex SchemePattern();
}
