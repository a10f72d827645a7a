using System.Globalization;
using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A request the fake API server refuses, carried as an exception up to the request handler,
/// which writes it as a Kubernetes <c>Status</c> body. The factories shape message, reason and
/// details the way the API server's own error constructors do, since clients (and our error
/// mapping) read the reason and code, and people read the message.
/// </summary>
internal sealed class ApiError : Exception
{
    private ApiError(int code, string reason, string message, JsonObject? details)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    public int Code { get; }

    public string Reason { get; }

    public JsonObject? Details { get; }

    /// <summary>Plain-text answers, as CDI's aggregated upload API gives, instead of a Status.</summary>
    public string? PlainText { get; private init; }

    public static ApiError NotFound(string qualifiedResource, string resource, string group, string name) =>
        new(404, "NotFound", $"{qualifiedResource} \"{name}\" not found", DetailsFor(name, group, resource));

    public static ApiError AlreadyExists(string qualifiedResource, string resource, string group, string name) =>
        new(409, "AlreadyExists", $"{qualifiedResource} \"{name}\" already exists", DetailsFor(name, group, resource));

    public static ApiError Conflict(string qualifiedResource, string resource, string group, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {qualifiedResource} \"{name}\": {why}", DetailsFor(name, group, resource));

    public static ApiError Forbidden(string qualifiedResource, string resource, string group, string? name, string why)
    {
        var subject = name is null ? qualifiedResource : $"{qualifiedResource} \"{name}\"";
        return new(403, "Forbidden", $"{subject} is forbidden: {why}", DetailsFor(name, group, resource));
    }

    public static ApiError Unauthorized() => new(401, "Unauthorized", "Unauthorized", null);

    public static ApiError BadRequest(string message) => new(400, "BadRequest", message, null);

    public static ApiError MethodNotSupported(string qualifiedResource, string resource, string group, string action) =>
        new(405, "MethodNotAllowed", $"{action} is not supported on resources of kind \"{qualifiedResource}\"", DetailsFor(null, group, resource));

    public static ApiError UnsupportedMediaType(IEnumerable<string> accepted) =>
        new(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: {string.Join(", ", accepted)}", null);

    public static ApiError Gone(string message) => new(410, "Expired", message, null);

    public static ApiError Generic(int code, string reason, string message, JsonObject? details) => new(code, reason, message, details);

    /// <summary>
    /// A validating webhook's refusal as the API server passes it on: the webhook's own code and
    /// causes, its message after the API server's "denied the request" prefix, and no reason when
    /// the webhook gave none.
    /// </summary>
    public static ApiError WebhookDenied(string webhook, int code, string message, JsonArray causes) =>
        new(code, "", $"admission webhook \"{webhook}\" denied the request: {message}", new JsonObject { ["causes"] = causes });

    public static ApiError UnauthorizedText(string text) => new(401, "Unauthorized", text, null) { PlainText = text };

    /// <summary>
    /// 422 Invalid, from field errors: the message joins them as the API server's aggregate
    /// does (bare for one, bracketed for several), and each becomes a cause with its field path.
    /// </summary>
    public static ApiError Invalid(string qualifiedKind, string group, string kind, string name, IReadOnlyList<FieldError> errors)
    {
        var causes = new JsonArray();
        foreach (var error in errors)
        {
            causes.Add(new JsonObject
            {
                ["reason"] = error.CauseType,
                ["message"] = error.Body,
                ["field"] = error.Field,
            });
        }

        var joined = errors.Count == 1 ? errors[0].ToString() : "[" + string.Join(", ", errors.Select(e => e.ToString())) + "]";
        var details = new JsonObject();
        if (name.Length > 0)
        {
            details["name"] = name;
        }

        if (group.Length > 0)
        {
            details["group"] = group;
        }

        if (kind.Length > 0)
        {
            details["kind"] = kind;
        }

        details["causes"] = causes;
        return new(422, "Invalid", $"{qualifiedKind} \"{name}\" is invalid: {joined}", details);
    }

    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
        };

        // The API server leaves reason out when whoever refused gave none (a webhook's own Status).
        if (Reason.Length > 0)
        {
            status["reason"] = Reason;
        }

        if (Details is not null)
        {
            status["details"] = Details.DeepClone();
        }

        status["code"] = Code;
        return status;
    }

    private static JsonObject DetailsFor(string? name, string group, string resource)
    {
        var details = new JsonObject();
        if (!string.IsNullOrEmpty(name))
        {
            details["name"] = name;
        }

        if (group.Length > 0)
        {
            details["group"] = group;
        }

        details["kind"] = resource;
        return details;
    }
}

/// <summary>
/// One field error, worded as the API server's field.Error prints it: "path: Type: value: detail".
/// </summary>
internal sealed record FieldError(string Field, string Type, string CauseType, string? ValueText, string Detail)
{
    public static FieldError Invalid(string field, JsonNode? value, string detail) => new(field, "Invalid value", "FieldValueInvalid", FormatValue(value), detail);

    /// <summary>An Invalid error whose value is printed as given, for values Go prints unquoted (such as <c>0x0</c>).</summary>
    public static FieldError InvalidRaw(string field, string valueText, string detail) => new(field, "Invalid value", "FieldValueInvalid", valueText, detail);

    public static FieldError TypeInvalid(string field, string actualType, string detail) => new(field, "Invalid value", "FieldValueTypeInvalid", FormatValue(JsonValue.Create(actualType)), detail);

    public static FieldError Required(string field, string detail = "") => new(field, "Required value", "FieldValueRequired", null, detail);

    public static FieldError NotSupported(string field, JsonNode? value, IEnumerable<string> supported) =>
        new(field, "Unsupported value", "FieldValueNotSupported", FormatValue(value), "supported values: " + string.Join(", ", supported.Select(s => $"\"{s}\"")));

    public static FieldError TooLong(string field, long max) => new(field, "Too long", "FieldValueTooLong", null, $"may not be more than {max} bytes");

    public static FieldError TooMany(string field, int actual, long max) =>
        new(field, "Too many", "FieldValueTooMany", actual.ToString(CultureInfo.InvariantCulture), $"must have at most {max} items");

    public static FieldError Duplicate(string field, JsonNode? value) => new(field, "Duplicate value", "FieldValueDuplicate", FormatValue(value), "");

    /// <summary>What follows the path: the type, the value where the API server shows one, and the detail.</summary>
    public string Body
    {
        get
        {
            var text = ValueText is null ? Type : $"{Type}: {ValueText}";
            return Detail.Length > 0 ? $"{text}: {Detail}" : text;
        }
    }

    public override string ToString() => $"{Field}: {Body}";

    private static string FormatValue(JsonNode? value) => value switch
    {
        null => "\"null\"",
        JsonValue v when v.TryGetValue<string>(out var s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => value.ToJsonString(),
    };
}
