using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace CdiTools.Cluster;

/// <summary>What kind of failure a <see cref="ClusterException"/> is, for the caller to choose an error category.</summary>
public enum ClusterErrorKind
{
    NotFound,
    AlreadyExists,
    Conflict,
    Unauthorized,
    Forbidden,
    Invalid,
    Timeout,
    Unavailable,

    /// <summary>The server's TLS certificate is not trusted.</summary>
    Untrusted,
    Configuration,
    Other,
}

/// <summary>
/// A failure talking to the cluster, or a cluster that is not as an operation needs it. The
/// message is the API server's own where it sent one; <see cref="ErrorId"/> is stable.
/// </summary>
public sealed class ClusterException : Exception
{
    public ClusterException(string errorId, ClusterErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Kind = kind;
    }

    public string ErrorId { get; }

    public ClusterErrorKind Kind { get; }

    /// <summary>
    /// Turns an API error into a <see cref="ClusterException"/> with the server's Status message,
    /// saying what was being done: "reading CDIConfig config".
    /// </summary>
    public static ClusterException FromApi(HttpOperationException exception, string doing)
    {
        var status = exception.Response?.StatusCode ?? 0;
        var message = StatusMessage(exception.Response?.Content) ?? exception.Message;
        var (id, kind) = status switch
        {
            HttpStatusCode.NotFound => ("NotFound", ClusterErrorKind.NotFound),
            HttpStatusCode.Conflict when message.Contains("already exists", StringComparison.OrdinalIgnoreCase) => ("AlreadyExists", ClusterErrorKind.AlreadyExists),
            HttpStatusCode.Conflict => ("Conflict", ClusterErrorKind.Conflict),
            HttpStatusCode.Unauthorized => ("Unauthorized", ClusterErrorKind.Unauthorized),
            HttpStatusCode.Forbidden => ("Forbidden", ClusterErrorKind.Forbidden),
            HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType => ("Invalid", ClusterErrorKind.Invalid),
            HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout => ("Timeout", ClusterErrorKind.Timeout),
            HttpStatusCode.ServiceUnavailable or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway => ("Unavailable", ClusterErrorKind.Unavailable),
            _ => ("ApiError", ClusterErrorKind.Other),
        };
        return new ClusterException(id, kind, $"The cluster refused {doing} ({(int)status}): {message}", exception);
    }

    private static string? StatusMessage(string? content)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("message", out var message) ? message.GetString() : null;
        }
        catch (JsonException)
        {
            return content.Length > 300 ? content[..300] : content;
        }
    }
}
