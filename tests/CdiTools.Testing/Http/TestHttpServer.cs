using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CdiTools.Testing.Http;

/// <summary>How a <see cref="TestHttpServer"/> answers range requests.</summary>
public enum TestRangeMode
{
    /// <summary>Advertises <c>Accept-Ranges: bytes</c> and answers ranges with 206.</summary>
    Honour,

    /// <summary>Advertises ranges but answers every GET with the whole file (200), as some proxies do.</summary>
    Ignore,

    /// <summary>Says nothing of ranges and answers every GET with the whole file.</summary>
    Off,

    /// <summary>Answers with 206 and the right bytes, but a Content-Range one byte off.</summary>
    WrongContentRange,
}

/// <summary>What a <see cref="TestHttpServer"/> is started with; its behaviour can change later.</summary>
public sealed record TestHttpServerOptions
{
    /// <summary>Serve HTTPS with this certificate (which must have its private key); plain HTTP when null.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Require basic auth with this user name and <see cref="Password"/>.</summary>
    public string? UserName { get; init; }

    public string? Password { get; init; }
}

/// <summary>One request as the server saw it.</summary>
public sealed record TestHttpRequest(string Method, string Path, string? Range, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The Authorization header, or null when none came.</summary>
    public string? Authorization => Headers.GetValueOrDefault("Authorization");
}

/// <summary>
/// A real HTTP(S) server on 127.0.0.1 and a free port (Kestrel over sockets) serving files from
/// memory or disk, with the behaviours an image download has to cope with: ranges or none, HEAD
/// refused, chunked bodies, basic auth, redirects, 5xx answers, connections that drop or stall.
/// Counts what it receives and sends so tests can check how a client used it.
/// </summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private const int WriteChunk = 64 * 1024;

    private readonly WebApplication app;
    private readonly TestHttpServerOptions options;
    private readonly ConcurrentDictionary<string, Func<HttpContext, (long Length, Func<long, Memory<byte>, int> Read)>> files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Uri Target, int Status)> redirects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TestHttpRequest> requests = new();
    private readonly ConcurrentQueue<(long From, long To)> rangesServed = new();
    private readonly object faultGate = new();
    private int failuresLeft;
    private int failureStatus;
    private int closesLeft;
    private long closeAfter;
    private long stallAfter = -1;
    private TimeSpan stallFor;
    private int requestCount;
    private long bodyBytesSent;

    private TestHttpServer(TestHttpServerOptions options)
    {
        this.options = options;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (options.Certificate is { } certificate)
                {
                    listen.UseHttps(certificate);
                }
            });
        });
        app = builder.Build();
        app.Run(HandleAsync);
    }

    /// <summary>The server's root URL, such as <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseUri { get; private set; } = null!;

    public int Port => BaseUri.Port;

    /// <summary>How ranges are answered; may change while the server runs.</summary>
    public TestRangeMode Ranges { get; set; } = TestRangeMode.Honour;

    /// <summary>When false, HEAD is answered with 405, as some object stores and CGI scripts do.</summary>
    public bool AllowHead { get; set; } = true;

    /// <summary>When true, whole-file answers have no Content-Length and go out chunked.</summary>
    public bool Chunked { get; set; }

    /// <summary>Requests received, including the ones answered with faults.</summary>
    public int RequestCount => Volatile.Read(ref requestCount);

    /// <summary>File bytes written to response bodies.</summary>
    public long BodyBytesSent => Interlocked.Read(ref bodyBytesSent);

    public IReadOnlyList<TestHttpRequest> Requests => [.. requests];

    /// <summary>The byte ranges answered with 206, in order.</summary>
    public IReadOnlyList<(long From, long To)> RangesServed => [.. rangesServed];

    public static async Task<TestHttpServer> StartAsync(TestHttpServerOptions? options = null)
    {
        var server = new TestHttpServer(options ?? new TestHttpServerOptions());
        await server.app.StartAsync().ConfigureAwait(false);
        var address = server.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseUri = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>The URL of <paramref name="path"/> on this server; the path is taken relative to the root.</summary>
    public Uri UriFor(string path) => new(BaseUri, path.TrimStart('/'));

    public void AddFile(string path, byte[] content) =>
        files[Normalize(path)] = _ => (content.LongLength, (offset, buffer) =>
        {
            var count = (int)Math.Min(buffer.Length, content.LongLength - offset);
            content.AsMemory((int)offset, count).CopyTo(buffer);
            return count;
        });

    /// <summary>Serves a file from disk, opened for each request, so large images need not sit in memory.</summary>
    public void AddFile(string path, string filePath) =>
        files[Normalize(path)] = context =>
        {
            var handle = File.OpenHandle(filePath, FileMode.Open, FileAccess.Read, FileShare.Read);
            context.Response.RegisterForDispose(handle);
            return (RandomAccess.GetLength(handle), (offset, buffer) => RandomAccess.Read(handle, buffer.Span, offset));
        };

    /// <summary>Answers <paramref name="path"/> with a redirect to <paramref name="target"/>, on this server or another.</summary>
    public void AddRedirect(string path, Uri target, int status = 302) => redirects[Normalize(path)] = (target, status);

    /// <summary>Answers the next <paramref name="count"/> requests, whatever they ask, with <paramref name="status"/>.</summary>
    public void FailNextRequests(int count, int status = 503)
    {
        lock (faultGate)
        {
            failuresLeft = count;
            failureStatus = status;
        }
    }

    /// <summary>Drops the connection after <paramref name="bytes"/> body bytes, in the next <paramref name="responses"/> responses with a body.</summary>
    public void CloseAfterBodyBytes(long bytes, int responses = int.MaxValue)
    {
        lock (faultGate)
        {
            closeAfter = bytes;
            closesLeft = responses;
        }
    }

    /// <summary>Stops sending for <paramref name="duration"/> after <paramref name="bytes"/> body bytes of every response; negative bytes turn it off.</summary>
    public void StallAfterBodyBytes(long bytes, TimeSpan duration)
    {
        lock (faultGate)
        {
            stallAfter = bytes;
            stallFor = duration;
        }
    }

    /// <summary>Forgets the requests and bytes counted so far.</summary>
    public void ResetCounters()
    {
        requests.Clear();
        rangesServed.Clear();
        Interlocked.Exchange(ref requestCount, 0);
        Interlocked.Exchange(ref bodyBytesSent, 0);
    }

    public async ValueTask DisposeAsync()
    {
        // Connections a test left stalled are cut after a moment instead of the host's 30 s.
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await app.StopAsync(patience.Token).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    private static string Normalize(string path) => "/" + path.TrimStart('/');

    /// <summary>One byte range of a Range header; null to answer with the whole file, (-1, -1) when it cannot be satisfied (416).</summary>
    internal static (long From, long To)? ParseRange(string? header, long length)
    {
        // One range only; anything else is answered with the whole file, which HTTP allows.
        if (header is null || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(','))
        {
            return null;
        }

        var spec = header["bytes=".Length..].Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return null;
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            return long.TryParse(last, CultureInfo.InvariantCulture, out var suffix) && suffix > 0 ? (Math.Max(0, length - suffix), length - 1) : (-1, -1);
        }

        if (!long.TryParse(first, CultureInfo.InvariantCulture, out var from))
        {
            return null;
        }

        var to = length - 1;
        if (last.Length > 0 && (!long.TryParse(last, CultureInfo.InvariantCulture, out to) || to < from))
        {
            return null;
        }

        return from >= length ? (-1, -1) : (from, Math.Min(to, length - 1));
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        Interlocked.Increment(ref requestCount);
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        requests.Enqueue(new TestHttpRequest(request.Method, request.Path.Value ?? "/", headers.GetValueOrDefault("Range"), headers));

        lock (faultGate)
        {
            if (failuresLeft > 0)
            {
                failuresLeft--;
                response.StatusCode = failureStatus;
                return;
            }
        }

        if (options.UserName is not null)
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.UserName}:{options.Password}"));
            if (!string.Equals(request.Headers.Authorization.ToString(), expected, StringComparison.Ordinal))
            {
                response.StatusCode = StatusCodes.Status401Unauthorized;
                response.Headers.WWWAuthenticate = "Basic realm=\"cditools-test\"";
                return;
            }
        }

        var path = request.Path.Value ?? "/";
        if (redirects.TryGetValue(path, out var redirect))
        {
            response.StatusCode = redirect.Status;
            response.Headers.Location = redirect.Target.AbsoluteUri;
            return;
        }

        if (!files.TryGetValue(path, out var open))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var isHead = HttpMethods.IsHead(request.Method);
        if (isHead && !AllowHead)
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET";
            return;
        }

        if (!isHead && !HttpMethods.IsGet(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var (length, read) = open(context);
        var mode = Ranges;
        response.ContentType = "application/octet-stream";
        if (mode != TestRangeMode.Off)
        {
            response.Headers.AcceptRanges = "bytes";
        }

        var range = !isHead && mode is TestRangeMode.Honour or TestRangeMode.WrongContentRange
            ? ParseRange(request.Headers.Range.ToString() is { Length: > 0 } r ? r : null, length)
            : null;
        long from = 0, to = length - 1;
        if (range is { From: < 0 })
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            response.Headers.ContentRange = $"bytes */{length}";
            return;
        }

        if (range is { } served)
        {
            (from, to) = served;
            rangesServed.Enqueue(served);
            response.StatusCode = StatusCodes.Status206PartialContent;
            var shift = mode == TestRangeMode.WrongContentRange ? 1 : 0;
            response.Headers.ContentRange = $"bytes {from + shift}-{to + shift}/{length}";
            response.ContentLength = to - from + 1;
        }
        else if (!Chunked)
        {
            response.ContentLength = length;
        }

        if (isHead)
        {
            return;
        }

        await WriteBodyAsync(context, read, from, to - from + 1).ConfigureAwait(false);
    }

    private async Task WriteBodyAsync(HttpContext context, Func<long, Memory<byte>, int> read, long from, long count)
    {
        long closeAt = -1, stallAt;
        TimeSpan stall;
        lock (faultGate)
        {
            if (closesLeft > 0 && count > 0)
            {
                closesLeft--;
                closeAt = closeAfter;
            }

            stallAt = stallAfter;
            stall = stallFor;
        }

        var buffer = new byte[WriteChunk];
        var body = context.Response.Body;
        var sent = 0L;
        while (sent < count)
        {
            var limit = count - sent;
            if (closeAt >= 0)
            {
                limit = Math.Min(limit, closeAt - sent);
            }

            if (stallAt >= sent)
            {
                limit = Math.Min(limit, stallAt - sent);
            }

            if (limit == 0)
            {
                await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                if (closeAt == sent)
                {
                    // Flushing hands the bytes to the transport, not to the wire; aborting at once
                    // could drop them, and the client would see no answer instead of a short one.
                    await Task.Delay(100, context.RequestAborted).ConfigureAwait(false);
                    context.Abort();
                    return;
                }

                await Task.Delay(stall, context.RequestAborted).ConfigureAwait(false);
                stallAt = -1;
                continue;
            }

            var n = read(from + sent, buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit)));
            await body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted).ConfigureAwait(false);
            if (Chunked)
            {
                // Small chunks on the wire, as a streaming server would send them.
                await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }

            sent += n;
            Interlocked.Add(ref bodyBytesSent, n);
        }
    }
}
