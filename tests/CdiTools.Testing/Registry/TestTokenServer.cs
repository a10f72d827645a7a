using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CdiTools.Testing.Registry;

/// <summary>One token request as the token server saw it.</summary>
public sealed record TokenRequest(string? Service, string? Scope, bool HadCredentials, bool Granted);

/// <summary>
/// A token service for a registry's bearer-token auth (the Docker registry token spec): answers
/// GET /token?service=...&amp;scope=... with a JWT signed by ES256 and carrying its certificate
/// (x5c), which the registry trusts through its rootcertbundle. Grants the asked actions to the
/// one user it knows; refuses anyone else, anonymous requests included, with 401.
/// </summary>
public sealed class TestTokenServer : IAsyncDisposable
{
    public const string Service = "test-registry";
    public const string Issuer = "cditools-test-token-issuer";

    private readonly WebApplication app;
    private readonly ECDsa key;
    private readonly X509Certificate2 certificate;
    private readonly string user;
    private readonly string password;
    private readonly ConcurrentQueue<TokenRequest> requests = new();

    private TestTokenServer(string user, string password)
    {
        this.user = user;
        this.password = password;
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=CdiTools test token signer", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        app = builder.Build();
        app.Run(HandleAsync);
    }

    /// <summary>The token endpoint, the realm the registry names in its challenge.</summary>
    public Uri Realm { get; private set; } = null!;

    public IReadOnlyList<TokenRequest> Requests => [.. requests];

    public static async Task<TestTokenServer> StartAsync(string user, string password)
    {
        var server = new TestTokenServer(user, password);
        await server.app.StartAsync().ConfigureAwait(false);
        var address = server.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.Realm = new Uri(new Uri(address.EndsWith('/') ? address : address + "/"), "token");
        return server;
    }

    /// <summary>Writes the signing certificate as the registry's rootcertbundle.</summary>
    public string WriteRootCertificate(string path)
    {
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync().ConfigureAwait(false);
        certificate.Dispose();
        key.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var service = context.Request.Query["service"].FirstOrDefault();
        var scope = context.Request.Query["scope"].FirstOrDefault();
        var authorization = context.Request.Headers.Authorization.FirstOrDefault();
        var granted = authorization is not null
            && authorization.StartsWith("Basic ", StringComparison.Ordinal)
            && Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..])) == $"{user}:{password}";
        requests.Enqueue(new TokenRequest(service, scope, authorization is not null, granted));
        if (!granted)
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("""{"details":"unauthorized"}""").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { token = Token(scope), expires_in = 300 })).ConfigureAwait(false);
    }

    private string Token(string? scope)
    {
        var access = new JsonArray();
        if (scope is not null)
        {
            // repository:NAME:ACTIONS, where NAME may itself hold no colon but ACTIONS is a comma list.
            var parts = scope.Split(':');
            if (parts.Length == 3)
            {
                access.Add(new JsonObject
                {
                    ["type"] = parts[0],
                    ["name"] = parts[1],
                    ["actions"] = new JsonArray([.. parts[2].Split(',').Select(a => (JsonNode)JsonValue.Create(a))]),
                });
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "ES256", ["x5c"] = new JsonArray(Convert.ToBase64String(certificate.RawData)) };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = user,
            ["aud"] = Service,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var signed = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));

        // JWS ES256 wants r||s, which is .NET's default (IEEE P1363) signature format.
        var signature = key.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256);
        return signed + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
