using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// Decides which HTTPS servers a resource trusts: the system's roots, a CA bundle that replaces
/// them, or anything at all when the caller asked to skip the check. Remembers why it refused a
/// certificate, because the handshake error HttpClient reports does not say.
/// </summary>
public sealed class HttpTlsTrust
{
    private readonly X509Certificate2Collection? bundle;
    private readonly string? bundlePath;
    private readonly bool skipCheck;
    private HttpFailure? lastRefusal;

    private HttpTlsTrust(X509Certificate2Collection? bundle, string? bundlePath, bool skipCheck)
    {
        this.bundle = bundle;
        this.bundlePath = bundlePath;
        this.skipCheck = skipCheck;
    }

    /// <summary>
    /// Trust in <paramref name="bundle"/> alone (the system's roots when null), or in anything when
    /// <paramref name="skipCheck"/>; <paramref name="bundleName"/> names the bundle in refusals.
    /// </summary>
    public static HttpTlsTrust FromBundle(X509Certificate2Collection? bundle, string bundleName, bool skipCheck) =>
        new(bundle is { Count: > 0 } ? bundle : null, bundleName, skipCheck);

    /// <summary>Loads the CA bundle, if any, so that a bad file is reported before any request.</summary>
    internal static HttpTlsTrust Create(HttpSourceOptions options) =>
        options.CertificateAuthorityFile is { } path
            ? FromPemFile(path, options.SkipCertificateCheck)
            : new HttpTlsTrust(null, null, options.SkipCertificateCheck);

    /// <summary>Trust in the CA certificates of a PEM file alone; a file without one is refused (HttpCaBundleInvalid) before any request.</summary>
    public static HttpTlsTrust FromPemFile(string path, bool skipCheck)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or NotSupportedException)
        {
            throw new ImageException(ImageErrors.HttpCaBundleInvalid, $"Cannot read the CA bundle '{path}': {e.Message}", innerException: e);
        }

        if (certificates.Count == 0)
        {
            throw new ImageException(ImageErrors.HttpCaBundleInvalid,
                $"The CA bundle '{path}' contains no PEM certificate (no '-----BEGIN CERTIFICATE-----' section).");
        }

        return new HttpTlsTrust(certificates, path, skipCheck);
    }

    /// <summary>The certificates that replace the system's roots; null when the system's roots apply.</summary>
    public X509Certificate2Collection? Bundle => bundle;

    public void Configure(SslClientAuthenticationOptions ssl)
    {
        ssl.RemoteCertificateValidationCallback = Validate;
        if (bundle is not null && !skipCheck)
        {
            // SslStream then builds the chain against the bundle alone, so sslPolicyErrors already
            // reflect it. A private CA rarely publishes reachable revocation lists or issuer
            // downloads, and CDI checks neither.
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            policy.CustomTrustStore.AddRange(bundle);
            ssl.CertificateChainPolicy = policy;
        }
    }

    /// <summary>Why the last certificate was refused, once, as a stable id and a message; null when none was.</summary>
    public (string ErrorId, string Message)? TakeRefusalReason() => TakeRefusal() is { } refusal ? (refusal.ErrorId, refusal.Message) : null;

    /// <summary>The reason the last certificate was refused, once; null when none was.</summary>
    internal HttpFailure? TakeRefusal() => Interlocked.Exchange(ref lastRefusal, null);

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (skipCheck || errors == SslPolicyErrors.None)
        {
            return true;
        }

        var host = (sender as SslStream)?.TargetHostName is { Length: > 0 } name ? name : "the server";
        Interlocked.Exchange(ref lastRefusal, Describe(host, certificate, chain, errors));
        return false;
    }

    private HttpFailure Describe(string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return new HttpFailure(ImageErrors.HttpTlsUntrusted, $"{host} presented no certificate.");
        }

        using var owned = certificate as X509Certificate2 is null ? new X509Certificate2(certificate) : null;
        var leaf = owned ?? (X509Certificate2)certificate;
        var names = NamesOf(leaf);
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var mismatch = errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
                ? $" Its names ({names}) do not match '{host}' either."
                : string.Empty;
            return new HttpFailure(ImageErrors.HttpTlsUntrusted,
                $"The certificate of {host} (subject '{leaf.Subject}', issued by '{leaf.Issuer}') is not trusted by {TrustDescription()}: {ChainProblems(chain)}.{mismatch}");
        }

        return new HttpFailure(ImageErrors.HttpTlsNameMismatch,
            $"The certificate of {host} (subject '{leaf.Subject}', issued by '{leaf.Issuer}') is for {names}, not for '{host}'. Use a URL with one of those names, or have the certificate reissued.");
    }

    private string TrustDescription()
    {
        if (bundle is null)
        {
            return "the system certificate store (give a CA bundle to trust a private CA)";
        }

        var subjects = string.Join("; ", bundle.Select(c => c.Subject).Distinct().Take(5));
        var more = bundle.Count > 5 ? $"; and {bundle.Count - 5} more" : string.Empty;
        return $"the CA bundle '{bundlePath}' ({subjects}{more}), which replaces the system certificate store for this connection";
    }

    private static string ChainProblems(X509Chain? chain)
    {
        var problems = chain?.ChainStatus
            .Where(s => s.Status != X509ChainStatusFlags.NoError)
            .Select(s => string.IsNullOrWhiteSpace(s.StatusInformation) ? s.Status.ToString() : $"{s.Status} ({s.StatusInformation.Trim()})")
            .Distinct()
            .ToList();
        return problems is { Count: > 0 } ? string.Join(", ", problems) : "no chain to a trusted root";
    }

    private static string NamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(a => a.ToString()));
            }
        }

        if (names.Count == 0)
        {
            names.Add(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        }

        return string.Join(", ", names.Select(n => $"'{n}'"));
    }
}
