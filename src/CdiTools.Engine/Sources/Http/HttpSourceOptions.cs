using System.Net;
using System.Text;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// How to reach an image over HTTP(S): credentials, trust, extra headers, timeouts and retries.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="CertificateAuthorityFile"/> <em>replaces</em> the system's trusted roots for the
/// resource it is given to, as CDI's <c>certConfigMap</c> does for an import: a server whose chain
/// ends in a publicly trusted root is refused unless that root is in the bundle too. Host name
/// checking still applies.
/// </para>
/// <para>
/// <see cref="ToString"/> never shows the password or header values: options end up in logs and
/// error records.
/// </para>
/// </remarks>
public sealed record HttpSourceOptions
{
    /// <summary>
    /// HTTP basic authentication, sent with the first request and only to the URL's own scheme,
    /// host and port. Takes precedence over user information in the URL.
    /// </summary>
    public NetworkCredential? Credential { get; init; }

    /// <summary>
    /// A PEM file of CA certificates that, instead of the system's roots, decides which HTTPS
    /// servers are trusted.
    /// </summary>
    public string? CertificateAuthorityFile { get; init; }

    /// <summary>Accepts any server certificate. The caller is responsible for warning about it.</summary>
    public bool SkipCertificateCheck { get; init; }

    /// <summary>
    /// Extra request headers. They go to every request, redirects included, except
    /// <c>Authorization</c>, <c>Proxy-Authorization</c> and <c>Cookie</c>, which are credentials
    /// and go only to the URL's own scheme, host and port.
    /// </summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// How long one request may wait for the response headers, and how long a response body may
    /// stall between two reads.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How many times an idempotent request is repeated after a 5xx answer, a dropped connection or
    /// a timeout. 4xx answers are final.
    /// </summary>
    public int RetryCount { get; init; } = 3;

    private bool PrintMembers(StringBuilder builder)
    {
        // Written by hand so that a password or a token in a header can never reach a log.
        builder.Append("Credential = ").Append(Credential is null ? "(none)" : "(set, password hidden)");
        builder.Append(", CertificateAuthorityFile = ").Append(CertificateAuthorityFile ?? "(system roots)");
        builder.Append(", SkipCertificateCheck = ").Append(SkipCertificateCheck);
        builder.Append(", Headers = [").Append(string.Join(", ", Headers.Keys)).Append(']');
        builder.Append(", Timeout = ").Append(Timeout);
        builder.Append(", RetryCount = ").Append(RetryCount);
        return true;
    }
}
