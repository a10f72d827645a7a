using System.Net;
using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;
using CdiTools.Testing;
using CdiTools.Testing.Images;
using CdiTools.Testing.Registry;

namespace CdiTools.Engine.Tests.Sources.Registry;

/// <summary>A real registry with bearer-token auth, its tokens issued by a test token service that knows one user.</summary>
public sealed class TokenRegistry : IAsyncLifetime
{
    public const string User = "token-user";
    public const string Password = "t0ken-pa55word";

    public TemporaryDirectory Folder { get; } = new();

    public TestTokenServer Tokens { get; private set; } = null!;

    public TestRegistry Registry { get; private set; } = null!;

    public string Sha { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tokens = await TestTokenServer.StartAsync(User, Password);
        var raw = Folder.File("disk.raw");
        DiskContent.WriteMixed(raw, 2 << 20, seed: 31);
        var disk = Folder.File("disk.qcow2");
        Qemu.ConvertFromRaw(raw, disk, "qcow2");
        Sha = Qemu.ConvertToRaw(disk, Folder.Path).Sha256;
        var layout = new OciLayoutBuilder(Folder.File("layout"));
        layout.Tag(layout.AddImage([layout.AddLayer(RegistryImages.DiskLayer(disk))]), "v1");
        Registry = TestRegistry.Start(new TestRegistryOptions
        {
            TokenRealm = Tokens.Realm,
            TokenService = TestTokenServer.Service,
            TokenIssuer = TestTokenServer.Issuer,
            TokenRootCertificateFile = Tokens.WriteRootCertificate(Folder.File("token-root.pem")),
            PushCredentials = $"{User}:{Password}",
        });
        Registry.Push(layout, "v1", "private/disk:v1");
    }

    public ImageLocation Location(NetworkCredential? credential) => ImageLocation.Container(
        ContainerImageReference.Parse($"docker://{Registry.Host}/private/disk:v1"),
        new RegistryOptions { Http = new HttpSourceOptions { Credential = credential, Timeout = TimeSpan.FromSeconds(30), RetryCount = 1 } });

    public async Task DisposeAsync()
    {
        Registry?.Dispose();
        await Tokens.DisposeAsync();
        Folder.Dispose();
    }
}

public sealed class RegistryTokenTests(TokenRegistry registry) : IClassFixture<TokenRegistry>
{
    [Fact]
    public async Task RightCredentials_GetAPullToken_FromTheRealmTheRegistryNames()
    {
        using var output = new TemporaryDirectory();
        var before = registry.Tokens.Requests.Count;

        var (sha, _) = await RegistryImages.ConvertAsync(registry.Location(new NetworkCredential(TokenRegistry.User, TokenRegistry.Password)), output);

        Assert.Equal(registry.Sha, sha);
        var asked = registry.Tokens.Requests.Skip(before).ToList();
        Assert.Contains(asked, r => r.Granted && r.Scope == "repository:private/disk:pull" && r.Service == TestTokenServer.Service);
    }

    [Fact]
    public async Task NoCredentials_IsRegistryUnauthorized_FromTheTokenService()
    {
        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(registry.Location(null), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryUnauthorized", error.ErrorId);
        Assert.Contains("token service", error.Message, StringComparison.Ordinal);
        Assert.Contains("no credentials were sent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPassword_IsRegistryUnauthorized_WithoutTheSecret()
    {
        const string wrong = "wr0ng-token-pass";

        var error = await Assert.ThrowsAsync<ImageException>(() => ImageInspector.InspectAsync(registry.Location(new NetworkCredential(TokenRegistry.User, wrong)), new ImageOpenOptions(), null, CancellationToken.None));

        Assert.Equal("RegistryUnauthorized", error.ErrorId);
        Assert.Contains("were refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
    }
}
