using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using static CdiTools.Testing.FakeCluster.JsonStrings;
using static CdiTools.Testing.FakeCluster.ObjectMeta;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// CDI's upload proxy and the upload server behind it, as a client sees them (CDI v1.66,
/// pkg/uploadproxy and pkg/uploadserver): HTTPS on 127.0.0.1 with a certificate from the fake API
/// server's CA, bearer tokens from its UploadTokenRequests, the wait for the upload pod and its
/// 503, the sync and async upload paths, and the data processor's handling of the body (gzip, xz
/// and zstd peeled, qcow2 converted, the size checked against the volume). What the volume gets is
/// kept as a raw file per upload, and a good upload completes the DataVolume. Started by
/// <see cref="FakeApiServer.StartUploadProxyAsync"/>.
/// </summary>
public sealed partial class FakeUploadProxy : IAsyncDisposable
{
    private const string Cdi = "cdi.kubevirt.io/";
    private const string PodPhaseAnnotation = Cdi + "storage.pod.phase";
    private const string PodReadyAnnotation = Cdi + "storage.pod.ready";
    private const string UploadTargetAnnotation = Cdi + "storage.upload.target";
    private const string ContentTypeAnnotation = Cdi + "storage.contentType";
    private const string PvcPrimeAnnotation = Cdi + "storage.populator.pvcPrime";
    private const string PlainText = "text/plain; charset=utf-8";

    // The proxy's own check of the header (authHeaderMatcher); anything else is a 400.
    private static readonly Regex BearerHeader = new(@"^Bearer\s+([A-Za-z0-9\-\._~\+\/]+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly string[] CorsMethods = ["HEAD", "GET", "POST", "PUT", "PATCH", "DELETE"];

    private readonly FakeApiServer server;
    private readonly WebApplication app;
    private readonly X509Certificate2 certificate;
    private readonly bool ownsStorage;
    private readonly ConcurrentQueue<FakeUpload> uploads = new();
    private readonly ConcurrentQueue<FakeUploadRequest> requests = new();
    private readonly Dictionary<string, UploadServer> uploadServers = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> completions = [];
    private readonly CancellationTokenSource stopping = new();
    private int uploadCounter;

    private FakeUploadProxy(FakeApiServer server, X509Certificate2 certificate, FakeUploadProxyOptions options)
    {
        this.server = server;
        this.certificate = certificate;
        Options = options;
        ownsStorage = options.StorageDirectory is null;
        StorageDirectory = options.StorageDirectory ?? Path.Combine(Path.GetTempPath(), "cditools-uploads-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(StorageDirectory);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // The engine reads the body on a worker thread with blocking reads.
            kestrel.AllowSynchronousIO = true;

            // Disk images are large and a slow client is what some tests are about.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate));
        });
        app = builder.Build();
        app.Run(HandleAsync);
    }

    /// <summary>The proxy's root URL, such as <c>https://127.0.0.1:40124/</c>.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>
    /// The address as CDI reports it in <c>cdiconfig/config .status.uploadProxyURL</c>: host and
    /// port, no scheme (clients put <c>https://</c> in front).
    /// </summary>
    public string Address => $"{BaseUri.Host}:{BaseUri.Port}";

    public FakeUploadProxyOptions Options { get; }

    /// <summary>Faults to inject; see <see cref="UploadFaults"/>.</summary>
    public UploadFaults Faults { get; } = new();

    /// <summary>The folder holding the stored raw disks.</summary>
    public string StorageDirectory { get; }

    /// <summary>Every upload that got as far as sending a body, in the order they finished.</summary>
    public IReadOnlyList<FakeUpload> Uploads => [.. uploads];

    /// <summary>Every request answered (or dropped), in the order they finished.</summary>
    public IReadOnlyList<FakeUploadRequest> Requests => [.. requests];

    /// <summary>The newest upload into PVC <paramref name="ns"/>/<paramref name="pvcName"/> that succeeded, or null.</summary>
    public FakeUpload? SucceededUpload(string ns, string pvcName) =>
        Uploads.LastOrDefault(u => u.Namespace == ns && u.PvcName == pvcName && u.Succeeded);

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await app.StopAsync(patience.Token).ConfigureAwait(false);
        }

        await app.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(completions).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        certificate.Dispose();
        stopping.Dispose();
        if (ownsStorage)
        {
            try
            {
                Directory.Delete(StorageDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file a test still holds open; the temporary folder's name says whose it is.
            }
        }
    }

    internal static async Task<FakeUploadProxy> StartAsync(FakeApiServer server, X509Certificate2 certificate, FakeUploadProxyOptions options)
    {
        var proxy = new FakeUploadProxy(server, certificate, options);
        await proxy.app.StartAsync().ConfigureAwait(false);
        var address = proxy.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        proxy.BaseUri = new Uri(address.EndsWith('/') ? address : address + "/");
        return proxy;
    }

    /// <summary>Go's html.EscapeString, which the proxy applies to the errors it returns.</summary>
    private static string HtmlEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("'", "&#39;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal)
            .Replace("\"", "&#34;", StringComparison.Ordinal);

    /// <summary>Go's strconv.ParseBool; anything it refuses counts as false, as the proxy ignores the error.</summary>
    private static bool GoBool(string? text) => text is "1" or "t" or "T" or "TRUE" or "true" or "True";

    private static long? Quantity(JsonNode? node)
    {
        if (Text(node) is not { } text)
        {
            return null;
        }

        try
        {
            return (long)Math.Floor(new ResourceQuantity(text).ToDecimal());
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<int> WriteAsync(HttpContext context, int status, string body = "")
    {
        context.Response.StatusCode = status;
        if (body.Length > 0)
        {
            // Go sniffs the type of the first bytes written; for CDI's messages that is plain text.
            context.Response.ContentType = PlainText;
            await context.Response.WriteAsync(body, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            context.Response.ContentLength = 0;
        }

        return status;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        string? token = null;
        int? status = null;
        try
        {
            status = await RouteAsync(context, path, t => token = t).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && (context.RequestAborted.IsCancellationRequested || stopping.IsCancellationRequested))
        {
            status = null;
        }
        finally
        {
            requests.Enqueue(new FakeUploadRequest(request.Method, path, token, status, DateTimeOffset.UtcNow));
        }
    }

    private async Task<int?> RouteAsync(HttpContext context, string path, Action<string> sawToken)
    {
        var request = context.Request;

        // The whole mux sits behind rs/cors' AllowAll handler.
        var origin = request.Headers.Origin.ToString();
        if (HttpMethods.IsOptions(request.Method) && request.Headers.AccessControlRequestMethod.Count > 0)
        {
            Preflight(context, origin);
            return await WriteAsync(context, 200).ConfigureAwait(false);
        }

        context.Response.Headers.Append("Vary", "Origin");
        if (origin.Length > 0 && CorsMethods.Contains(request.Method.ToUpperInvariant()))
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
        }

        if (path == "/healthz")
        {
            return await WriteAsync(context, 200, "OK").ConfigureAwait(false);
        }

        if (Route(path) is not { } route)
        {
            // Go's ServeMux for a path no handler is registered for.
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return await WriteAsync(context, 404, "404 page not found\n").ConfigureAwait(false);
        }

        if (Faults.TakeUnavailable() is { } unavailable)
        {
            return await WriteAsync(context, 503, unavailable).ConfigureAwait(false);
        }

        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return await WriteAsync(context, 400).ConfigureAwait(false);
        }

        var match = BearerHeader.Match(header);
        if (!match.Success)
        {
            return await WriteAsync(context, 400).ConfigureAwait(false);
        }

        var token = match.Groups[1].Value;
        sawToken(token);
        if (!IsValid(token, out var issued))
        {
            return await WriteAsync(context, 401).ConfigureAwait(false);
        }

        var (pvc, problem) = await WaitUploadReadyAsync(issued.Namespace, issued.PvcName, context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            return await WriteAsync(context, 503, HtmlEscape(problem)).ConfigureAwait(false);
        }

        // Where the proxy sends the request depends on what the PVC is to hold (resolveUploadPath).
        var contentType = Annotation(pvc!, ContentTypeAnnotation) ?? "";
        var archive = contentType == "archive";
        if (contentType is not ("kubevirt" or "" or "archive"))
        {
            return await WriteAsync(context, 503, HtmlEscape($"rejecting upload request for PVC {issued.PvcName} - upload content-type {contentType} is invalid")).ConfigureAwait(false);
        }

        // From here on it is the upload server answering. Archives always go to its synchronous archive handler.
        var handler = archive ? route with { Async = false, Form = false } : route;
        if (handler.Async && HttpMethods.IsHead(request.Method))
        {
            return await WriteAsync(context, 200).ConfigureAwait(false);
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            return await WriteAsync(context, 404).ConfigureAwait(false);
        }

        if (Options.RequireContentLength && request.ContentLength is null)
        {
            return await WriteAsync(context, 411, "Length Required").ConfigureAwait(false);
        }

        // One upload server per PVC (a new PVC of the same name gets a new pod): busy while a body
        // is read or processed (503), and done for good after a success (409).
        var key = Text(pvc!["metadata"]?["uid"]) ?? $"{issued.Namespace}/{issued.PvcName}";
        UploadServer? uploadServer;
        int? refusal = null;
        lock (uploadServers)
        {
            if (!uploadServers.TryGetValue(key, out uploadServer))
            {
                uploadServer = new UploadServer();
                uploadServers[key] = uploadServer;
            }

            if (uploadServer.Uploading || uploadServer.Processing)
            {
                refusal = 503;
            }
            else if (uploadServer.Done)
            {
                refusal = 409;
            }
            else
            {
                uploadServer.Uploading = true;
            }
        }

        if (refusal is { } code)
        {
            return await WriteAsync(context, code).ConfigureAwait(false);
        }

        return await UploadAsync(context, path, handler, archive, issued, pvc!, uploadServer).ConfigureAwait(false);
    }

    private static void Preflight(HttpContext context, string origin)
    {
        var request = context.Request;
        var headers = context.Response.Headers;
        headers.Append("Vary", "Origin");
        headers.Append("Vary", "Access-Control-Request-Method");
        headers.Append("Vary", "Access-Control-Request-Headers");
        var method = request.Headers.AccessControlRequestMethod.ToString().ToUpperInvariant();
        if (origin.Length == 0 || !CorsMethods.Contains(method))
        {
            return;
        }

        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlAllowMethods = method;
        var asked = request.Headers.AccessControlRequestHeaders.ToString();
        if (asked.Length > 0)
        {
            headers.AccessControlAllowHeaders = string.Join(", ", asked.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>The handler registered for <paramref name="path"/> (common.ProxyPaths), or null.</summary>
    private UploadRoute? Route(string path) => path switch
    {
        "/v1beta1/upload" or "/v1alpha1/upload" => new UploadRoute(false, false),
        "/v1beta1/upload-form" or "/v1alpha1/upload-form" => new UploadRoute(false, true),
        "/v1beta1/upload-async" or "/v1alpha1/upload-async" when Options.OfferAsync => new UploadRoute(true, false),
        "/v1beta1/upload-form-async" or "/v1alpha1/upload-form-async" when Options.OfferAsync => new UploadRoute(true, true),
        _ => null,
    };

    /// <summary>
    /// The token validator's verdict: a token this cluster's UploadTokenRequests issued, within
    /// its expiry plus the leeway, and not expired by a fault.
    /// </summary>
    private bool IsValid(string token, out FakeUploadToken issued)
    {
        issued = server.FindUploadToken(token)!;
        if (issued is null || Faults.IsExpired(token))
        {
            return false;
        }

        var now = DateTimeOffset.UtcNow;
        var expires = issued.Expires;
        if (Options.TokenLifetime is { } lifetime && issued.Issued + lifetime < expires)
        {
            expires = issued.Issued + lifetime;
        }

        return now <= expires + Options.TokenLeeway;
    }

    /// <summary>
    /// The proxy's uploadReady: looks at the PVC now and then every poll interval until its upload
    /// pod is ready, failing at once when the PVC cannot take an upload and with the context's
    /// error when the time is up.
    /// </summary>
    private async Task<(JsonObject? Pvc, string? Problem)> WaitUploadReadyAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + Options.ReadyTimeout;
        while (true)
        {
            var (pvc, problem, ready) = CheckReady(ns, name);
            if (problem is not null || ready)
            {
                return (pvc, problem);
            }

            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return (null, "context deadline exceeded");
            }

            await Task.Delay(left < Options.ReadyPollInterval ? left : Options.ReadyPollInterval, cancellationToken).ConfigureAwait(false);
            if (DateTimeOffset.UtcNow >= deadline)
            {
                return (null, "context deadline exceeded");
            }
        }
    }

    private (JsonObject? Pvc, string? Problem, bool Ready) CheckReady(string ns, string name)
    {
        var pvc = server.GetObject("v1", "PersistentVolumeClaim", name, ns);
        if (pvc is null)
        {
            return (null, $"rejecting Upload Request for PVC {name} that doesn't exist", false);
        }

        // With the upload populator the upload pod serves the PVC' (getPopulationPVC), which the
        // target names until the upload has succeeded; a target naming none is looked at itself,
        // where CDI would keep waiting for the name.
        var reference = pvc["spec"]?["dataSourceRef"];
        if (Text(reference?["kind"]) == "VolumeUploadSource" && Text(reference?["apiGroup"]) == "cdi.kubevirt.io"
            && Annotation(pvc, PvcPrimeAnnotation) is { } primeName)
        {
            pvc = server.GetObject("v1", "PersistentVolumeClaim", primeName, ns);
            if (pvc is null)
            {
                return (null, $"rejecting Upload Request for PVC {name}, PVC' wasn't created yet", false);
            }
        }

        var pvcName = Text(pvc["metadata"]?["name"]) ?? name;
        if (Annotation(pvc, UploadTargetAnnotation) is null)
        {
            return (null, $"PVC {pvcName} is not an upload target", false);
        }

        if (Annotation(pvc, PodPhaseAnnotation) == "Succeeded")
        {
            return (null, $"rejecting Upload Request for PVC {name} that already finished uploading", false);
        }

        var ready = GoBool(Annotation(pvc, PodReadyAnnotation))
            && !Faults.IsHeld(ns, name, Text(pvc["metadata"]?["uid"]) ?? "", DateTimeOffset.UtcNow);
        return (pvc, null, ready);
    }

    private long AvailableSpace(JsonObject pvc) =>
        Options.AvailableSpace?.Invoke(pvc)
        ?? Quantity(pvc["status"]?["capacity"]?["storage"])
        ?? Quantity(pvc["spec"]?["resources"]?["requests"]?["storage"])
        ?? long.MaxValue;

    private string NewStoredPath(string ns, string pvcName) =>
        Path.Combine(StorageDirectory, $"{ns}_{pvcName}_{Interlocked.Increment(ref uploadCounter)}.img");

    /// <summary>Which upload server handler a path reaches.</summary>
    private sealed record UploadRoute(bool Async, bool Form);

    /// <summary>The upload server of one PVC: one upload at a time, and none once one has succeeded.</summary>
    private sealed class UploadServer
    {
        public bool Uploading { get; set; }

        public bool Processing { get; set; }

        public bool Done { get; set; }
    }
}
