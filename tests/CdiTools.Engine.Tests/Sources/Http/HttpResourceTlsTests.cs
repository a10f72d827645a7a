using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using CdiTools.Engine.Sources.Http;
using CdiTools.Testing.Http;
using static CdiTools.Engine.Tests.Sources.Http.HttpTestData;

namespace CdiTools.Engine.Tests.Sources.Http;

/// <summary>One CA pair for all TLS tests: key generation is the slow part.</summary>
public sealed class TestAuthorities : IDisposable
{
    public TestCertificateAuthority Trusted { get; } = TestCertificateAuthority.Create("CdiTools Test Root CA");

    public TestCertificateAuthority Unrelated { get; } = TestCertificateAuthority.Create("Unrelated Test Root CA");

    public void Dispose()
    {
        Trusted.Dispose();
        Unrelated.Dispose();
    }
}

public sealed class HttpResourceTlsTests(TestAuthorities authorities) : IClassFixture<TestAuthorities>, IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("cditools-http-tls-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task RightCaBundle_IsTrusted()
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate());
        var bundle = authorities.Trusted.WritePem(Path.Combine(directory, "ca.pem"));

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None);
        var buffer = new byte[10_000];
        resource.Input.Random!.ReadAt(3_000_000, buffer);

        Assert.Equal("https", resource.Uri.Scheme);
        Assert.True(resource.SupportsRanges);
        Assert.True(buffer.AsSpan().SequenceEqual(Image4.AsSpan(3_000_000, buffer.Length)));
    }

    [Fact]
    public async Task BundleOfSeveralCas_TrustsEachOfThem()
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate());
        var bundle = Path.Combine(directory, "bundle.pem");
        File.WriteAllText(bundle, "# unrelated first\n" + authorities.Unrelated.ToPem() + authorities.Trusted.ToPem());

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None);

        Assert.True(resource.SupportsRanges);
    }

    [Fact]
    public async Task OtherCaBundle_IsHttpTlsUntrusted_NamingTheBundle()
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate());
        var bundle = authorities.Unrelated.WritePem(Path.Combine(directory, "other.pem"));

        var error = await Assert.ThrowsAsync<ImageException>(() =>
            HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None));

        Assert.Equal("HttpTlsUntrusted", error.ErrorId);
        Assert.Contains(bundle, error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=CdiTools Test Root CA", error.Message, StringComparison.Ordinal);
        Assert.Contains("Unrelated Test Root CA", error.Message, StringComparison.Ordinal);
        Assert.Contains("replaces the system certificate store", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task NoCaBundle_UsesTheSystemStore_WhichDoesNotTrustTheTestCa()
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate());

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None));

        Assert.Equal("HttpTlsUntrusted", error.ErrorId);
        Assert.Contains("system certificate store", error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=CdiTools Test Root CA", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkipCertificateCheck_AcceptsAnyCertificate()
    {
        await using var server = await StartHttpsAsync(authorities.Unrelated.IssueServerCertificate("somewhere.else.example"));

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { SkipCertificateCheck = true }, CancellationToken.None);

        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.OpenStream())));
    }

    [Fact]
    public async Task CertificateForAnotherName_IsHttpTlsNameMismatch()
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate("images.example.com"));
        var bundle = authorities.Trusted.WritePem(Path.Combine(directory, "ca.pem"));

        var error = await Assert.ThrowsAsync<ImageException>(() =>
            HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None));

        Assert.Equal("HttpTlsNameMismatch", error.ErrorId);
        Assert.Contains("'images.example.com'", error.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("this is not a certificate\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")]
    [InlineData("")]
    public async Task UnusableCaBundle_IsHttpCaBundleInvalid_BeforeAnyRequest(string content)
    {
        await using var server = await StartHttpsAsync(authorities.Trusted.IssueServerCertificate());
        var bundle = Path.Combine(directory, "bad.pem");
        File.WriteAllText(bundle, content);

        var error = await Assert.ThrowsAsync<ImageException>(() =>
            HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None));

        Assert.Equal("HttpCaBundleInvalid", error.ErrorId);
        Assert.Contains(bundle, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task MissingCaBundle_IsHttpCaBundleInvalid()
    {
        var bundle = Path.Combine(directory, "missing.pem");

        var error = await Assert.ThrowsAsync<ImageException>(() =>
            HttpResource.OpenAsync(new Uri("https://127.0.0.1:1/disk.img"), Fast with { CertificateAuthorityFile = bundle }, CancellationToken.None));

        Assert.Equal("HttpCaBundleInvalid", error.ErrorId);
    }

    [Fact]
    public void CaBundle_ReplacesTheSystemRoots()
    {
        var bundle = authorities.Trusted.WritePem(Path.Combine(directory, "ca.pem"));
        var trust = HttpTlsTrust.Create(new HttpSourceOptions { CertificateAuthorityFile = bundle });
        var ssl = new SslClientAuthenticationOptions();

        trust.Configure(ssl);

        Assert.Equal(X509ChainTrustMode.CustomRootTrust, ssl.CertificateChainPolicy!.TrustMode);
        Assert.Equal(authorities.Trusted.Certificate.Thumbprint, Assert.Single(ssl.CertificateChainPolicy.CustomTrustStore).Thumbprint);
        Assert.NotNull(ssl.RemoteCertificateValidationCallback);
    }

    private static async Task<TestHttpServer> StartHttpsAsync(X509Certificate2 certificate)
    {
        var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { Certificate = certificate });
        server.AddFile("disk.img", Image4);
        return server;
    }
}
