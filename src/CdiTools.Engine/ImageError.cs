namespace CdiTools.Engine;

/// <summary>What kind of refusal an <see cref="ImageError"/> is, which decides how it is reported (the PowerShell error category).</summary>
public enum ImageErrorKind
{
    /// <summary>The image is malformed, truncated or unsafe to read.</summary>
    Invalid,

    /// <summary>The image is fine but uses something the engine does not convert (a backing file, encryption, ...).</summary>
    Unsupported,

    /// <summary>What the caller gave cannot be used (a checksum, a reference, a platform).</summary>
    InvalidArgument,

    /// <summary>The data is not what was expected of it (a checksum or digest that does not match).</summary>
    Mismatch,

    /// <summary>The server has no such image, tag or platform.</summary>
    NotFound,

    /// <summary>The server refused the credentials, or asked for some.</summary>
    PermissionDenied,

    /// <summary>The server stopped answering in time.</summary>
    Timeout,

    /// <summary>The server's certificate or a redirect is not to be trusted.</summary>
    Security,

    /// <summary>The connection failed or the server answered with an error.</summary>
    Connection,
}

/// <summary>A stable error id and its kind; every one is declared in <see cref="ImageErrors"/>.</summary>
public sealed record ImageError(string Id, ImageErrorKind Kind)
{
    /// <inheritdoc />
    public override string ToString() => Id;
}
