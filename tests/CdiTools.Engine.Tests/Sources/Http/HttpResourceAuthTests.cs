using System.Net;
using System.Text;
using CdiTools.Engine.Sources.Http;
using CdiTools.Testing.Http;
using static CdiTools.Engine.Tests.Sources.Http.HttpTestData;

namespace CdiTools.Engine.Tests.Sources.Http;

public sealed class HttpResourceAuthTests
{
    private const string User = "alice";
    private const string Password = "Tr0ub4dor&3-horse-staple";

    private static readonly string EncodedCredentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));

    [Fact]
    public async Task NoCredentials_IsHttpUnauthorized_SayingNoneWereSent()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        server.AddFile("disk.img", Image4);

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None));

        Assert.Equal("HttpUnauthorized", error.ErrorId);
        Assert.Contains("no credentials were sent", error.Message, StringComparison.Ordinal);
        Assert.Contains("401", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPassword_IsHttpUnauthorized_WithoutTheSecretAnywhere()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = "something else" });
        server.AddFile("disk.img", Image4);
        var options = Fast with { Credential = new NetworkCredential(User, Password) };

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(server.UriFor("disk.img"), options, CancellationToken.None));

        Assert.Equal("HttpUnauthorized", error.ErrorId);
        Assert.Contains("credentials that were sent were refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, Everything(error), StringComparison.Ordinal);
        Assert.DoesNotContain(EncodedCredentials, Everything(error), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordInTheUrl_IsNotShownWhenRefused()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = "something else" });
        server.AddFile("disk.img", Image4);
        var uri = new UriBuilder(server.UriFor("disk.img")) { UserName = User, Password = Uri.EscapeDataString(Password) }.Uri;

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(uri, Fast, CancellationToken.None));

        Assert.Equal("HttpUnauthorized", error.ErrorId);
        Assert.DoesNotContain(Password, Everything(error), StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(Password), Everything(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RightCredentials_AreSentPreemptively_WithEveryRequest()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        server.AddFile("disk.img", Image4);
        var options = Fast with { Credential = new NetworkCredential(User, Password) };

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), options, CancellationToken.None);
        var buffer = new byte[1000];
        resource.Input.Random!.ReadAt(4_000_000, buffer);

        Assert.True(buffer.AsSpan().SequenceEqual(Image4.AsSpan(4_000_000, buffer.Length)));
        Assert.Equal(3, server.RequestCount);
        Assert.All(server.Requests, r => Assert.Equal("Basic " + EncodedCredentials, r.Authorization));
    }

    [Fact]
    public async Task CredentialsInTheUrl_AreUsed_AndStrippedFromTheUri()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        server.AddFile("disk.img", Image4);
        var uri = new UriBuilder(server.UriFor("disk.img")) { UserName = User, Password = Uri.EscapeDataString(Password) }.Uri;

        using var resource = await HttpResource.OpenAsync(uri, Fast, CancellationToken.None);

        Assert.True(resource.SupportsRanges);
        Assert.Equal(server.UriFor("disk.img"), resource.Uri);
        Assert.Empty(resource.Uri.UserInfo);
        Assert.DoesNotContain(Password, resource.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/disk.img")]
    public async Task RedirectToAnotherScheme_IsRefused_AndNothingIsRead(string target)
    {
        await using var origin = await TestHttpServer.StartAsync();
        origin.AddRedirect("disk.img", new Uri(target));

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(origin.UriFor("disk.img"), Fast, CancellationToken.None));

        Assert.Equal("HttpRedirectRefused", error.ErrorId);
        Assert.Contains($"redirected to a {new Uri(target).Scheme}: URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedirectToAnotherServer_DoesNotCarryTheCredentials()
    {
        await using var origin = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        await using var elsewhere = await TestHttpServer.StartAsync();
        elsewhere.AddFile("blobs/disk.img", Image4);
        origin.AddRedirect("disk.img", elsewhere.UriFor("blobs/disk.img"));
        var options = Fast with
        {
            Credential = new NetworkCredential(User, Password),
            Headers = new Dictionary<string, string> { ["X-Request-Purpose"] = "import", ["Cookie"] = "session=abc123" },
        };

        using var resource = await HttpResource.OpenAsync(origin.UriFor("disk.img"), options, CancellationToken.None);
        resource.Input.Random!.ReadAt(3_000_000, new byte[10]);

        Assert.Equal(elsewhere.UriFor("blobs/disk.img"), resource.Uri);
        Assert.All(origin.Requests, r => Assert.Equal("Basic " + EncodedCredentials, r.Authorization));
        Assert.All(origin.Requests, r => Assert.Equal("session=abc123", r.Headers["Cookie"]));
        Assert.Equal(3, elsewhere.RequestCount);
        Assert.All(elsewhere.Requests, r => Assert.Null(r.Authorization));
        Assert.All(elsewhere.Requests, r => Assert.False(r.Headers.ContainsKey("Cookie")));
        Assert.All(elsewhere.Requests, r => Assert.Equal("import", r.Headers["X-Request-Purpose"]));
    }

    [Fact]
    public async Task RedirectToAServerThatWantsCredentials_SaysTheyWereWithheld()
    {
        await using var origin = await TestHttpServer.StartAsync();
        await using var elsewhere = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        elsewhere.AddFile("disk.img", Image4);
        origin.AddRedirect("disk.img", elsewhere.UriFor("disk.img"), 307);
        var options = Fast with { Credential = new NetworkCredential(User, Password) };

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(origin.UriFor("disk.img"), options, CancellationToken.None));

        Assert.Equal("HttpUnauthorized", error.ErrorId);
        Assert.Contains("redirected to another server", error.Message, StringComparison.Ordinal);
        Assert.All(elsewhere.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task RedirectOnTheSameServer_KeepsTheCredentials()
    {
        await using var server = await TestHttpServer.StartAsync(new TestHttpServerOptions { UserName = User, Password = Password });
        server.AddFile("v2/disk.img", Image4);
        server.AddRedirect("disk.img", server.UriFor("v2/disk.img"), 301);
        var options = Fast with { Credential = new NetworkCredential(User, Password) };

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), options, CancellationToken.None);

        Assert.Equal(server.UriFor("v2/disk.img"), resource.Uri);
        Assert.Equal(["/disk.img", "/v2/disk.img", "/v2/disk.img"], server.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task EndlessRedirects_AreRefused()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddRedirect("a.img", server.UriFor("b.img"));
        server.AddRedirect("b.img", server.UriFor("a.img"));

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(server.UriFor("a.img"), Fast, CancellationToken.None));

        Assert.Equal("HttpError", error.ErrorId);
        Assert.Contains("redirected more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomHeaders_ReachTheServer_WithEveryRequest()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        var options = Fast with { Headers = new Dictionary<string, string> { ["X-Api-Key"] = "k-123", ["Authorization"] = "Bearer t0ken" } };

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), options, CancellationToken.None);
        resource.Input.Random!.ReadAt(3_000_000, new byte[10]);

        Assert.Equal(3, server.RequestCount);
        Assert.All(server.Requests, r => Assert.Equal("k-123", r.Headers["X-Api-Key"]));
        Assert.All(server.Requests, r => Assert.Equal("Bearer t0ken", r.Authorization));
        Assert.DoesNotContain("t0ken", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("X-Api-Key", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeaderThatCannotBeSent_IsRefusedWithoutShowingItsValue()
    {
        var options = Fast with { Headers = new Dictionary<string, string> { ["Content-Type"] = "secret-value" } };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => HttpResource.OpenAsync(new Uri("http://127.0.0.1:1/x"), options, CancellationToken.None));

        Assert.Contains("Content-Type", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeaderValueWithANewLine_IsRefused()
    {
        var options = Fast with { Headers = new Dictionary<string, string> { ["X-Token"] = "abc\r\nX-Injected: 1" } };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => HttpResource.OpenAsync(new Uri("http://127.0.0.1:1/x"), options, CancellationToken.None));

        Assert.Contains("X-Token", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Injected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QueriesAreHiddenInMessages()
    {
        var shown = HttpTransport.Display(new Uri("https://user:pw@bucket.example:8443/disk.img?X-Amz-Signature=abc"));

        Assert.Equal("https://bucket.example:8443/disk.img?…", shown);
    }
}
