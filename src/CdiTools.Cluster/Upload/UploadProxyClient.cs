using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using CdiTools.Engine.Sources;
using CdiTools.Engine.Sources.Http;

namespace CdiTools.Cluster.Upload;

/// <summary>One upload body, made afresh for each attempt (CDI cannot resume, so a retry starts from zero).</summary>
/// <param name="Write">Writes the whole body to the stream it is given.</param>
/// <param name="Length">The body's length when known in advance (a file sent as it is); null for a converted stream, sent chunked.</param>
/// <param name="ContentType">What the body is, for the request header.</param>
/// <param name="Measure">For a body of unknown length: works its length out by making it once, for proxies that refuse chunked bodies.</param>
public sealed record UploadBody(Func<Stream, CancellationToken, Task> Write, long? Length, string ContentType, Func<CancellationToken, Task<long>>? Measure = null);

/// <summary>The token for one PVC and when it was issued; CDI's tokens last 5 minutes.</summary>
public sealed record UploadToken(string Value, DateTimeOffset Issued);

/// <summary>How an upload went on the wire.</summary>
public sealed record UploadTransfer(long BytesSent, int Attempts, bool Async, TimeSpan Duration);

/// <summary>
/// Talks to CDI's upload proxy: finds out whether it offers upload-async, sends the body with the
/// Bearer token, and retries what a retry can cure (resets, 5xx) with backoff, renewing a token
/// that has aged out. The proxy's certificate is checked against the kubeconfig's CA, a given PEM
/// bundle, or not at all when asked.
/// </summary>
public sealed class UploadProxyClient : IDisposable
{
    /// <summary>Renew a token this old: CDI's last 5 minutes and the upload may take a while to begin.</summary>
    public static readonly TimeSpan TokenRenewAge = TimeSpan.FromMinutes(4);

    private readonly HttpClient http;
    private readonly HttpTlsTrust trust;

    /// <param name="trust">Which certificates the proxy may present.</param>
    public UploadProxyClient(Uri proxy, HttpTlsTrust trust)
    {
        Proxy = proxy;
        this.trust = trust;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(30) };
        trust.Configure(handler.SslOptions);
        http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri Proxy { get; }

    /// <summary>Before retry n (1-based): 1, 2, 4, 8, 16 s, then 30 s.</summary>
    public static readonly Func<int, TimeSpan> DefaultBackoff = attempt => TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt - 1)));

    /// <summary>How long to wait before retry n; <see cref="DefaultBackoff"/> unless a test shortens it.</summary>
    public Func<int, TimeSpan> Backoff { get; init; } = DefaultBackoff;

    /// <summary>Whether the proxy serves upload-async: a HEAD answered 200. The proxy checks the token on every request, HEAD too.</summary>
    public async Task<bool> SupportsAsyncAsync(UploadToken token, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(Proxy, "/v1beta1/upload-async"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException e)
        {
            throw ConnectFailure(e);
        }
    }

    /// <summary>
    /// Sends <paramref name="body"/> until the proxy takes it, at most 1 + <paramref name="retries"/> times.
    /// <paramref name="renewToken"/> gives a fresh token when the current one has aged.
    /// </summary>
    public async Task<UploadTransfer> SendAsync(
        UploadBody body,
        bool useAsync,
        UploadToken token,
        Func<CancellationToken, Task<UploadToken>> renewToken,
        int retries,
        Action<long>? bytesSent,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var path = useAsync ? "/v1beta1/upload-async" : "/v1beta1/upload";
        var renew = false;
        for (var attempt = 1; ; attempt++)
        {
            // Renewed just before the request, after any backoff, so the new token is fresh when used.
            if (renew || DateTimeOffset.UtcNow - token.Issued > TokenRenewAge)
            {
                token = await renewToken(cancellationToken).ConfigureAwait(false);
                renew = false;
            }

            var counter = new SentCounter(bytesSent);
            string? retryReason;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Proxy, path)) { Content = new WriterContent(body, counter) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return new UploadTransfer(counter.Total, attempt, useAsync, clock.Elapsed);
                }

                switch (response.StatusCode)
                {
                    case HttpStatusCode.Unauthorized when attempt == 1:
                        throw new ClusterException("UploadUnauthorized", ClusterErrorKind.Unauthorized, $"The upload proxy refused the token (401): {Trim(text)}");
                    case HttpStatusCode.Unauthorized:
                        // A token that expired during the retries: the next attempt gets a new one.
                        renew = true;
                        retryReason = "the token expired";
                        break;
                    case HttpStatusCode.LengthRequired when body.Length is null && body.Measure is not null:
                        // Something in front of CDI's proxy refuses chunked bodies: make the body
                        // once to learn its length (it comes out the same each time), then send it with one.
                        Measuring?.Invoke();
                        body = body with { Length = await body.Measure(cancellationToken).ConfigureAwait(false) };
                        attempt--;
                        continue;
                    case HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout or HttpStatusCode.InternalServerError:
                        retryReason = $"{(int)response.StatusCode} {Trim(text)}";
                        break;
                    default:
                        throw new ClusterException("UploadRejected", ClusterErrorKind.Invalid, $"The upload proxy refused the upload ({(int)response.StatusCode}): {Trim(text)}");
                }
            }
            catch (HttpRequestException e) when (e.InnerException is System.Security.Authentication.AuthenticationException)
            {
                throw ConnectFailure(e);
            }
            catch (Exception e) when (e is HttpRequestException or IOException && Inner<Engine.ImageException>(e) is { } image)
            {
                // The image, not the network, failed: another attempt would fail the same way.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(image);
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } && counter.Total == 0 && attempt == 1)
                {
                    throw ConnectFailure((HttpRequestException)e);
                }

                retryReason = $"the connection broke after {counter.Total} bytes ({e.GetBaseException().Message})";
            }

            if (attempt > retries)
            {
                throw new ClusterException("UploadFailed", ClusterErrorKind.Unavailable, $"The upload failed {attempt} times; the last time because {retryReason}.");
            }

            await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
            Retrying?.Invoke(attempt, retryReason);
        }
    }

    /// <summary>Called when the proxy asks for a Content-Length and the body is measured first.</summary>
    public Action? Measuring { get; init; }

    /// <summary>Called before each retry with the attempt that failed and why.</summary>
    public Action<int, string>? Retrying { get; init; }

    public void Dispose() => http.Dispose();

    // Whichever request meets the proxy first (the HEAD, or a POST) reports a refused certificate or an unreachable address the same way.
    private ClusterException ConnectFailure(HttpRequestException e) =>
        e.InnerException is System.Security.Authentication.AuthenticationException
            ? new("UploadProxyUntrusted", ClusterErrorKind.Configuration, $"The upload proxy {Proxy} is not trusted: {trust.TakeRefusalReason()?.Message ?? e.Message} Pass -UploadProxyCertificate with its CA, or -SkipCertificateCheck.", e)
            : new("UploadProxyUnreachable", ClusterErrorKind.Unavailable, $"The upload proxy {Proxy} cannot be reached: {e.GetBaseException().Message}. Give its address with -UploadProxyUrl (CDI's uploadProxyURLOverride sets it for everyone).", e);

    private static T? Inner<T>(Exception e)
        where T : Exception
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static string Trim(string text) => text.Length > 500 ? text[..500] : text.Trim();

    private sealed class SentCounter(Action<long>? report)
    {
        public long Total;

        public void Add(int count)
        {
            Total += count;
            report?.Invoke(count);
        }
    }

    // The body is written on demand, into the request stream, for each attempt.
    private sealed class WriterContent : HttpContent
    {
        private readonly UploadBody body;
        private readonly SentCounter counter;

        public WriterContent(UploadBody body, SentCounter counter)
        {
            this.body = body;
            this.counter = counter;
            Headers.ContentType = new MediaTypeHeaderValue(body.ContentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            body.Write(new CountingWriteStream(stream, counter), cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length ?? 0;
            return body.Length is not null;
        }
    }

    private sealed class CountingWriteStream(Stream inner, SentCounter counter) : WriteOnlyStream
    {
        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            counter.Add(buffer.Length);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            counter.Add(buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
