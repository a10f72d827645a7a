using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CdiTools.Testing.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace CdiTools.Testing.Http;

/// <summary>
/// The public hosts that documentation examples name (<c>images.example.com</c>, <c>quay.io</c>,
/// ...), on this machine, so an example can run exactly as written: an HTTP proxy on loopback
/// tunnels every CONNECT to one HTTPS server, which answers for any host name with a certificate
/// its own authority issues for that name. A client reaches it through <c>HTTPS_PROXY</c> and
/// trusts it through <c>SSL_CERT_FILE</c> or a CA file.
/// </summary>
/// <remarks>
/// What it serves comes from a folder: <c>root/HOST/PATH</c> is a file at
/// <c>https://HOST/PATH</c> (ranges honoured), and a folder <c>root/HOST/REPO/tags/TAG/</c> is the
/// container disk <c>HOST/REPO:TAG</c> for linux/amd64 and linux/arm64, its files under
/// <c>/disk</c> in one gzip layer, served by the registry API; the same image is written beside
/// that folder as <c>TAG.oci-archive.tar</c>.
/// </remarks>
public sealed class FakeInternet : IAsyncDisposable
{
    private const string ManifestSegment = "/manifests/";
    private const string BlobSegment = "/blobs/";

    private readonly string root;
    private readonly TestCertificateAuthority authority = TestCertificateAuthority.Create("CdiTools Example Internet CA");
    private readonly ConcurrentDictionary<string, X509Certificate2> certificates = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Repository> repositories = new(StringComparer.Ordinal);
    private readonly TemporaryDirectory layouts = new();
    private readonly WebApplication app;
    private readonly TcpListener proxy = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private int httpsPort;

    private FakeInternet(string root)
    {
        this.root = Path.GetFullPath(root);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificateSelector = (_, name) => certificates.GetOrAdd(name ?? "localhost", n => authority.IssueServerCertificate(n)),
            }));
        });
        app = builder.Build();
        app.Run(HandleAsync);
    }

    /// <summary>The proxy's URL, for <c>HTTPS_PROXY</c>.</summary>
    public Uri ProxyUri { get; private set; } = null!;

    /// <summary>The authority every host's certificate chains to, as PEM.</summary>
    public string CertificateAuthorityPem => authority.ToPem();

    public static async Task<FakeInternet> StartAsync(string root)
    {
        var internet = new FakeInternet(root);
        internet.BuildRegistries();
        await internet.app.StartAsync().ConfigureAwait(false);
        var address = internet.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        internet.httpsPort = new Uri(address).Port;
        internet.proxy.Start();
        internet.ProxyUri = new Uri($"http://127.0.0.1:{((IPEndPoint)internet.proxy.LocalEndpoint).Port}/");
        _ = internet.AcceptAsync();
        return internet;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        proxy.Stop();
        await app.DisposeAsync().ConfigureAwait(false);
        foreach (var certificate in certificates.Values)
        {
            certificate.Dispose();
        }

        authority.Dispose();
        layouts.Dispose();
        stopping.Dispose();
    }

    private void BuildRegistries()
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        foreach (var tagFolder in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)
                     .Where(d => Path.GetFileName(Path.GetDirectoryName(d)) == "tags")
                     .Order(StringComparer.Ordinal))
        {
            var repositoryFolder = Path.GetDirectoryName(Path.GetDirectoryName(tagFolder)!)!;
            var key = Path.GetRelativePath(root, repositoryFolder).Replace('\\', '/');
            if (!repositories.TryGetValue(key, out var repository))
            {
                var layout = new OciLayoutBuilder(layouts.File(key.Replace('/', '_')));
                repository = new Repository(layout, new Dictionary<string, OciBlob>(StringComparer.Ordinal), new Dictionary<string, OciBlob>(StringComparer.Ordinal));
                repositories[key] = repository;
            }

            var layer = repository.Layout.AddLayer(
                [LayerEntry.Directory("disk"), .. Directory.EnumerateFiles(tagFolder).Order(StringComparer.Ordinal).Select(f => LayerEntry.File("disk/" + Path.GetFileName(f), f))]);
            var manifests = new List<(OciBlob Manifest, string Platform)>();
            foreach (var architecture in new[] { "amd64", "arm64" })
            {
                var manifest = repository.Layout.AddImage([layer], architecture);
                repository.Manifests[manifest.Digest] = manifest;
                manifests.Add((manifest, "linux/" + architecture));
            }

            var index = repository.Layout.AddIndex(manifests);
            repository.Manifests[index.Digest] = index;
            var tag = Path.GetFileName(tagFolder);
            repository.Tags[tag] = index;
            repository.Layout.Tag(index, tag);
            repository.Layout.WriteArchive(Path.Combine(Path.GetDirectoryName(tagFolder)!, tag + ".oci-archive.tar"));
        }
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await proxy.AcceptTcpClientAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = TunnelAsync(client);
        }
    }

    /// <summary>Answers one proxy connection: a CONNECT becomes a tunnel to the HTTPS server, whatever host it names.</summary>
    private async Task TunnelAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream).ConfigureAwait(false);
                if (!head.StartsWith("CONNECT ", StringComparison.Ordinal))
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), stopping.Token).ConfigureAwait(false);
                    return;
                }

                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, httpsPort, stopping.Token).ConfigureAwait(false);
                await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection Established\r\n\r\n"), stopping.Token).ConfigureAwait(false);
                var other = upstream.GetStream();
                var first = await Task.WhenAny(stream.CopyToAsync(other, stopping.Token), other.CopyToAsync(stream, stopping.Token)).ConfigureAwait(false);
                await first.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client that goes away ends its tunnel; nothing else depends on it.
            }
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 16 * 1024)
        {
            if (await stream.ReadAsync(one).ConfigureAwait(false) == 0)
            {
                break;
            }

            bytes.Add(one[0]);
            if (bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r')
            {
                break;
            }
        }

        return Encoding.ASCII.GetString([.. bytes]);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        var path = Uri.UnescapeDataString(context.Request.Path.Value ?? "/");
        if (path is "/v2" or "/v2/")
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            await context.Response.WriteAsync("{}").ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/v2/", StringComparison.Ordinal) && (path.Contains(ManifestSegment, StringComparison.Ordinal) || path.Contains(BlobSegment, StringComparison.Ordinal)))
        {
            await ServeRegistryAsync(context, host, path["/v2/".Length..]).ConfigureAwait(false);
            return;
        }

        var file = Path.GetFullPath(Path.Combine(root, host, path.TrimStart('/')));
        if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(file))
        {
            context.Response.StatusCode = 404;
            return;
        }

        await ServeFileAsync(context, file, "application/octet-stream").ConfigureAwait(false);
    }

    private async Task ServeRegistryAsync(HttpContext context, string host, string rest)
    {
        var isManifest = rest.Contains(ManifestSegment, StringComparison.Ordinal);
        var segment = isManifest ? ManifestSegment : BlobSegment;
        var at = rest.LastIndexOf(segment, StringComparison.Ordinal);
        var reference = rest[(at + segment.Length)..];
        if (!repositories.TryGetValue(host + "/" + rest[..at], out var repository))
        {
            await RegistryErrorAsync(context, "NAME_UNKNOWN").ConfigureAwait(false);
            return;
        }

        if (isManifest)
        {
            if (!(repository.Tags.TryGetValue(reference, out var manifest) || repository.Manifests.TryGetValue(reference, out manifest)))
            {
                await RegistryErrorAsync(context, "MANIFEST_UNKNOWN").ConfigureAwait(false);
                return;
            }

            context.Response.Headers["Docker-Content-Digest"] = manifest.Digest;
            await ServeFileAsync(context, repository.Layout.BlobPath(manifest), manifest.MediaType).ConfigureAwait(false);
            return;
        }

        var blob = reference.StartsWith("sha256:", StringComparison.Ordinal) ? Path.Combine(repository.Layout.Directory, "blobs", "sha256", reference["sha256:".Length..]) : null;
        if (blob is null || reference.Contains('/', StringComparison.Ordinal) || !File.Exists(blob))
        {
            await RegistryErrorAsync(context, "BLOB_UNKNOWN").ConfigureAwait(false);
            return;
        }

        context.Response.Headers["Docker-Content-Digest"] = reference;
        await ServeFileAsync(context, blob, "application/octet-stream").ConfigureAwait(false);
    }

    private static Task RegistryErrorAsync(HttpContext context, string code)
    {
        context.Response.StatusCode = 404;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($$"""{"errors":[{"code":"{{code}}","message":"not known"}]}""");
    }

    /// <summary>A whole file, or the one range asked for, as a plain web server answers (ranges parsed as <see cref="TestHttpServer"/> parses them).</summary>
    private static async Task ServeFileAsync(HttpContext context, string file, string contentType)
    {
        var length = new FileInfo(file).Length;
        long from = 0, to = length - 1;
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.ContentType = contentType;
        if (TestHttpServer.ParseRange(context.Request.Headers.Range.ToString() is { Length: > 0 } header ? header : null, length) is { } range)
        {
            if (range.From < 0)
            {
                context.Response.StatusCode = 416;
                context.Response.Headers.ContentRange = $"bytes */{length}";
                return;
            }

            (from, to) = range;
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {from}-{to}/{length}";
        }

        context.Response.ContentLength = to - from + 1;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        stream.Position = from;
        var remaining = to - from + 1;
        var buffer = new byte[1 << 16];
        while (remaining > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
            remaining -= read;
        }
    }

    private sealed record Repository(OciLayoutBuilder Layout, Dictionary<string, OciBlob> Tags, Dictionary<string, OciBlob> Manifests);
}
