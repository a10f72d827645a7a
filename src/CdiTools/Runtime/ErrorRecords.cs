using System.Management.Automation;
using CdiTools.Engine;

namespace CdiTools.Runtime;

/// <summary>Exceptions from the layers below as PowerShell error records with stable ids and the right category.</summary>
internal static class ErrorRecords
{
    /// <summary>
    /// The record for a failure with one input of many: the message starts with that input, so
    /// a list of errors from a pipeline says which image each one is about.
    /// </summary>
    public static ErrorRecord From(Exception exception, object? target, string source)
    {
        var record = From(exception, target);
        if (!exception.Message.Contains(source, StringComparison.Ordinal))
        {
            record.ErrorDetails = new ErrorDetails($"{source}: {exception.Message}") { RecommendedAction = record.ErrorDetails?.RecommendedAction };
        }

        return record;
    }

    // The engine does not know the parameters that fix its refusals; the cmdlets do.
    private static ErrorRecord WithAdvice(ErrorRecord record, ImageException image)
    {
        var advice = image.ErrorId switch
        {
            nameof(ImageErrors.HttpTlsUntrusted) => "Give the certificate of the CA that issued the server's certificate with -CertificateFile ca.pem (a PEM bundle); -SkipCertificateCheck turns the check off, for a test server only.",
            nameof(ImageErrors.HttpTlsNameMismatch) => "Use a URL with a name the certificate lists; -SkipCertificateCheck turns the check off, for a test server only.",
            _ => null,
        };
        if (advice is not null)
        {
            record.ErrorDetails = new ErrorDetails(image.Message) { RecommendedAction = advice };
        }

        return record;
    }

    /// <summary>Two or more inputs of one call that would write the same output.</summary>
    public static ErrorRecord Collision(string errorId, string message, object target) =>
        new(new InvalidOperationException(message), errorId, ErrorCategory.ResourceExists, target);

    public static ErrorRecord From(Exception exception, object? target) => exception switch
    {
        Cluster.DataVolumes.DataVolumeRequestException invalid => new ErrorRecord(invalid, invalid.ErrorId, ErrorCategory.InvalidArgument, target),
        ImageException image => WithAdvice(new ErrorRecord(image, image.ErrorId, Category(image), target), image),
        Cluster.ClusterException cluster => new ErrorRecord(cluster, cluster.ErrorId, Category(cluster.Kind), target),
        FileNotFoundException or DirectoryNotFoundException => new ErrorRecord(exception, "PathNotFound", ErrorCategory.ObjectNotFound, target),
        UnauthorizedAccessException => new ErrorRecord(exception, "AccessDenied", ErrorCategory.PermissionDenied, target),
        Engine.Sinks.DestinationExistsException => new ErrorRecord(exception, "DestinationExists", ErrorCategory.ResourceExists, target),
        Engine.Sinks.DestinationUnavailableException unavailable => new ErrorRecord(exception, unavailable.ErrorId, unavailable.ErrorId == "DestinationFolderNotFound" ? ErrorCategory.ObjectNotFound : ErrorCategory.PermissionDenied, unavailable.Path),
        IOException => new ErrorRecord(exception, "WriteFailed", ErrorCategory.WriteError, target),
        ArgumentException => new ErrorRecord(exception, "InvalidArgument", ErrorCategory.InvalidArgument, target),
        _ => new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, target),
    };

    private static ErrorCategory Category(Cluster.ClusterErrorKind kind) => kind switch
    {
        Cluster.ClusterErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        Cluster.ClusterErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        Cluster.ClusterErrorKind.Conflict => ErrorCategory.ResourceUnavailable,
        Cluster.ClusterErrorKind.Unauthorized => ErrorCategory.AuthenticationError,
        Cluster.ClusterErrorKind.Forbidden => ErrorCategory.PermissionDenied,
        Cluster.ClusterErrorKind.Invalid => ErrorCategory.InvalidArgument,
        Cluster.ClusterErrorKind.Timeout => ErrorCategory.OperationTimeout,
        Cluster.ClusterErrorKind.Unavailable => ErrorCategory.ConnectionError,
        Cluster.ClusterErrorKind.Untrusted => ErrorCategory.SecurityError,
        Cluster.ClusterErrorKind.Configuration => ErrorCategory.InvalidArgument,
        _ => ErrorCategory.NotSpecified,
    };

    // Each id's kind is declared with it in ImageErrors.
    private static ErrorCategory Category(ImageException exception) => exception.Error.Kind switch
    {
        ImageErrorKind.Unsupported => ErrorCategory.NotImplemented,
        ImageErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ImageErrorKind.Mismatch => ErrorCategory.InvalidResult,
        ImageErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        ImageErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        ImageErrorKind.Timeout => ErrorCategory.OperationTimeout,
        ImageErrorKind.Security => ErrorCategory.SecurityError,
        ImageErrorKind.Connection => ErrorCategory.ConnectionError,
        _ => ErrorCategory.InvalidData,
    };
}
