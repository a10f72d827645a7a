using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CdiTools.Testing.Http;

/// <summary>
/// A certificate authority that lives in memory for one test run: a self-signed ECDSA root that
/// issues server certificates for loopback names. Nothing is added to any certificate store;
/// clients trust it only through the PEM file <see cref="WritePem"/> writes.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa key;

    private TestCertificateAuthority(string name)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=CdiTools tests"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        Certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
    }

    /// <summary>The root certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The names a server certificate gets when none are given: what a loopback test server is reached by.</summary>
    public static IReadOnlyList<string> LoopbackNames { get; } = ["localhost", "127.0.0.1", "::1"];

    /// <summary>Creates a root CA; give different names to tell two authorities apart in messages.</summary>
    public static TestCertificateAuthority Create(string name = "CdiTools Test Root CA") => new(name);

    /// <summary>
    /// Issues a server certificate for <paramref name="names"/> (DNS names or IP addresses; the
    /// loopback names by default), usable by Kestrel on Linux and Windows alike.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(params string[] names)
    {
        if (names.Length == 0)
        {
            names = [.. LoopbackNames];
        }

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={names[0]}, O=CdiTools test server"), serverKey, HashAlgorithmName.SHA256);
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                alternativeNames.AddIpAddress(address);
            }
            else
            {
                alternativeNames.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(alternativeNames.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddDays(-1), now.AddDays(30), serial);
        using var withKey = issued.CopyWithPrivateKey(serverKey);

        // SslStream on Windows cannot use an ephemeral key; a PKCS#12 round trip gives a usable one.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>The root certificate as PEM, as a CA bundle holds it.</summary>
    public string ToPem() => Certificate.ExportCertificatePem() + "\n";

    /// <summary>Writes the root certificate as a PEM CA bundle to <paramref name="path"/> and returns the path.</summary>
    public string WritePem(string path)
    {
        File.WriteAllText(path, ToPem());
        return path;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        key.Dispose();
    }
}
