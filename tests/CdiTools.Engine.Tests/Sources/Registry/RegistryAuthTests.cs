using System.Net;
using System.Text;
using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;
using CdiTools.Testing;
using CdiTools.Testing.Http;
using CdiTools.Testing.Images;
using CdiTools.Testing.Registry;

namespace CdiTools.Engine.Tests.Sources.Registry;

/// <summary>A real registry behind HTTPS from a test CA and htpasswd (bcrypt) basic auth, with one container disk pushed.</summary>
public sealed class SecuredRegistry : IDisposable
{
    public const string User = "puller";
    public const string Password = "c0rrect-h0rse-battery";

    public SecuredRegistry()
    {
        Folder = new TemporaryDirectory();
        Authority = TestCertificateAuthority.Create("CdiTools Registry Test CA");
        var raw = Folder.File("disk.raw");
        DiskContent.WriteMixed(raw, 3 << 20, seed: 21);
        var disk = Folder.File("disk.qcow2");
        Qemu.ConvertFromRaw(raw, disk, "qcow2");
        Sha = Qemu.ConvertToRaw(disk, Folder.Path).Sha256;
        var layout = new OciLayoutBuilder(Folder.File("layout"));
        layout.Tag(layout.AddImage([layout.AddLayer(RegistryImages.DiskLayer(disk))]), "v1");
        Registry = TestRegistry.Start(new TestRegistryOptions { Authority = Authority, UserName = User, Password = Password });
        Registry.Push(layout, "v1", "private/disk:v1");
    }

    public TemporaryDirectory Folder { get; }

    public TestCertificateAuthority Authority { get; }

    public TestRegistry Registry { get; }

    public string Sha { get; }

    public ImageLocation Location(NetworkCredential? credential, bool withCa = true, bool skipCheck = false) => ImageLocation.Container(
        ContainerImageReference.Parse($"docker://{Registry.Host}/private/disk:v1"),
        new RegistryOptions
        {
            Http = new HttpSourceOptions
            {
                Credential = credential,
                CertificateAuthorityFile = withCa ? Registry.CaFile : null,
                SkipCertificateCheck = skipCheck,
                Timeout = TimeSpan.FromSeconds(30),
                RetryCount = 1,
            },
        });

    public void Dispose()
    {
        Registry.Dispose();
        Authority.Dispose();
        Folder.Dispose();
    }
}

public sealed class RegistryAuthTests(SecuredRegistry registry) : IClassFixture<SecuredRegistry>
{
    [Fact]
    public async Task RightCredentials_OverTlsFromTheCaFile_Convert()
    {
        using var output = new TemporaryDirectory();

        var (sha, _) = await RegistryImages.ConvertAsync(registry.Location(new NetworkCredential(SecuredRegistry.User, SecuredRegistry.Password)), output);

        Assert.Equal(registry.Sha, sha);
    }

    [Fact]
    public async Task SkipCertificateCheck_WithoutTheCa_Converts()
    {
        using var output = new TemporaryDirectory();

        var (sha, _) = await RegistryImages.ConvertAsync(registry.Location(new NetworkCredential(SecuredRegistry.User, SecuredRegistry.Password), withCa: false, skipCheck: true), output);

        Assert.Equal(registry.Sha, sha);
    }

    [Fact]
    public async Task WrongPassword_IsRegistryUnauthorized_WithoutTheSecret()
    {
        const string wrong = "not-the-password-42";

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(registry.Location(new NetworkCredential(SecuredRegistry.User, wrong)), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryUnauthorized", error.ErrorId);
        Assert.Contains("credentials that were sent were refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SecuredRegistry.User}:{wrong}")), error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentials_IsRegistryUnauthorized_SayingNoneWereSent()
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(registry.Location(null), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryUnauthorized", error.ErrorId);
        Assert.Contains("no credentials were sent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutTheCa_IsHttpTlsUntrusted_AndNoPlainHttpFallback()
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(registry.Location(new NetworkCredential(SecuredRegistry.User, SecuredRegistry.Password), withCa: false), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("HttpTlsUntrusted", error.ErrorId);
    }
}
