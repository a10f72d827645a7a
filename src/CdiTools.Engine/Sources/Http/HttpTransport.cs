using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// The HTTP client of one resource: sends requests with the user's headers and credentials,
/// follows redirects itself so that credentials never leave the URL's origin, repeats what may be
/// repeated, turns transport failures into refusals with stable ids, and counts what it did.
/// </summary>
internal sealed class HttpTransport : IDisposable
{
    private const int MaxRedirects = 10;

    // Headers that carry credentials follow the same rule as basic auth, whoever set them.
    private static readonly HashSet<string> CredentialHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
    };

    private readonly HttpClient client;
    private readonly HttpTlsTrust trust;
    private readonly HttpSourceOptions options;
    // The Authorization value for Origin: Basic from the credential, or a registry's Bearer token.
    private string? authorization;
    private long bytesReceived;
    private int requestCount;
    private int disposed;

    public HttpTransport(Uri origin, NetworkCredential? credential, HttpTlsTrust trust, HttpSourceOptions options)
    {
        ValidateHeaders(options.Headers);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RetryCount, nameof(options));
        if (options.Timeout <= TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The timeout must be positive.");
        }

        Origin = origin;
        this.trust = trust;
        this.options = options;
        if (credential is not null)
        {
            authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}"));
        }

        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            PreAuthenticate = false,
            ConnectTimeout = options.Timeout,

            // A body abandoned half-way (a stalled read, a disposed forward stream) then closes its
            // connection at once instead of being drained, which is what unblocks a stalled read.
            MaxResponseDrainSize = 0,
        };
        trust.Configure(handler.SslOptions);

        // Time limits are ours (see SendOnceAsync) so that a timeout can be told from a cancellation.
        client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("CdiTools", typeof(HttpTransport).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>The URL's scheme, host and port: the only place credentials are sent to.</summary>
    public Uri Origin { get; }

    public bool HasCredential => authorization is not null;

    /// <summary>
    /// Replaces the Authorization value sent to <see cref="Origin"/> (a registry's bearer token, once
    /// negotiated); like basic auth it never goes to another origin. Null sends none.
    /// </summary>
    public void SetAuthorization(string? value) => authorization = value;

    public long BytesReceived => Interlocked.Read(ref bytesReceived);

    public int RequestCount => Volatile.Read(ref requestCount);

    public TimeSpan Timeout => options.Timeout;

    public void CountBytes(long count) => Interlocked.Add(ref bytesReceived, count);

    public bool IsSameOrigin(Uri uri) =>
        string.Equals(uri.Scheme, Origin.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.IdnHost, Origin.IdnHost, StringComparison.OrdinalIgnoreCase)
        && uri.Port == Origin.Port;

    /// <summary>
    /// Sends one request and follows redirects, returning the first answer that is not a redirect
    /// with its headers read and its body not. Transport failures become <see cref="ImageException"/>
    /// or, when repeating may help, <see cref="TransientHttpException"/>. Completes synchronously
    /// when <paramref name="sync"/> is set.
    /// </summary>
    /// <param name="accept">An Accept header for this request (a registry's manifest media types).</param>
    public async ValueTask<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, (long From, long To)? range, bool sync, CancellationToken cancellationToken, string? accept = null)
    {
        var current = uri;
        for (var hop = 0; ; hop++)
        {
            var request = Build(method, current, range);
            if (accept is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            var response = await SendOnceAsync(request, sync, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
                or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect))
            {
                return response;
            }

            var location = response.Headers.Location;
            var status = (int)response.StatusCode;
            response.Dispose();
            if (location is null)
            {
                throw new ImageException(ImageErrors.HttpError, $"{Display(current)} answered HTTP {status} without saying where to go.");
            }

            if (hop >= MaxRedirects)
            {
                throw new ImageException(ImageErrors.HttpError, $"{Display(uri)} redirected more than {MaxRedirects} times.");
            }

            var next = HttpUris.WithoutUserInfo(location.IsAbsoluteUri ? location : new Uri(current, location));
            if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
            {
                // A server must not choose what else is read: a file: URL would be a file of this machine.
                throw new ImageException(ImageErrors.HttpRedirectRefused, $"{Display(current)} redirected to a {next.Scheme}: URL, which is never followed; only http and https redirects are.");
            }

            if (current.Scheme == Uri.UriSchemeHttps && next.Scheme == Uri.UriSchemeHttp)
            {
                // The user's headers would then travel in clear text.
                throw new ImageException(ImageErrors.HttpRedirectRefused, $"{Display(current)} redirected from HTTPS to plain HTTP ({Display(next)}); refused.");
            }

            current = next;
        }
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, fails for good, or has failed transiently
    /// one more time than <see cref="HttpSourceOptions.RetryCount"/> allows.
    /// </summary>
    public async ValueTask<T> RetryAsync<T>(Func<ValueTask<T>> attempt, bool sync, CancellationToken cancellationToken)
    {
        for (var attempts = 1; ; attempts++)
        {
            try
            {
                return await attempt().ConfigureAwait(false);
            }
            catch (TransientHttpException e)
            {
                if (attempts > options.RetryCount)
                {
                    throw e.Failure.ToException(attempts);
                }

                // Short and growing: long enough for a restarting pod, short enough for a test.
                var delay = TimeSpan.FromMilliseconds(Math.Min(4000, 250 << (attempts - 1)));
                if (sync)
                {
                    Thread.Sleep(delay);
                }
                else
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Why a final answer is not the content: the refusal to throw, or to retry on for 5xx.</summary>
    public HttpFailure StatusFailure(HttpResponseMessage response)
    {
        var uri = response.RequestMessage?.RequestUri ?? Origin;
        var code = (int)response.StatusCode;
        var status = string.IsNullOrEmpty(response.ReasonPhrase) ? $"HTTP {code}" : $"HTTP {code} {response.ReasonPhrase}";
        switch (code)
        {
            case 404 or 410:
                return new HttpFailure(ImageErrors.HttpNotFound, $"{Display(uri)} does not exist ({status}).");
            case 401 or 403:
                string credentials;
                if (!HasCredential)
                {
                    credentials = "no credentials were sent";
                }
                else if (!IsSameOrigin(uri))
                {
                    credentials = $"the credentials were not sent, because they belong to {Display(Origin)} and the request was redirected to another server";
                }
                else
                {
                    credentials = code == 401 ? "the credentials that were sent were refused" : "credentials were sent, but they do not give access to this image";
                }

                return new HttpFailure(ImageErrors.HttpUnauthorized, $"{Display(uri)} refused access ({status}); {credentials}.");
            default:
                return new HttpFailure(ImageErrors.HttpError, $"{Display(uri)} answered {status}.");
        }
    }

    /// <summary>A URL as messages show it: no user information, and no query, which may hold a signature or token.</summary>
    public static string Display(Uri uri)
    {
        var shown = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return string.IsNullOrEmpty(uri.Query) ? shown : shown + "?…";
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            client.Dispose();
        }
    }

    private static void ValidateHeaders(IReadOnlyDictionary<string, string> headers)
    {
        using var probe = new HttpRequestMessage();
        foreach (var (name, value) in headers)
        {
            // The value stays out of the message: it may be a token.
            if (string.Equals(name, "Range", StringComparison.OrdinalIgnoreCase)
                || value is null
                || value.AsSpan().IndexOfAny('\r', '\n') >= 0
                || !probe.Headers.TryAddWithoutValidation(name, value))
            {
                throw new ArgumentException($"The header '{name}' cannot be sent with an image request.", nameof(headers));
            }
        }
    }

    private HttpRequestMessage Build(HttpMethod method, Uri uri, (long From, long To)? range)
    {
        var request = new HttpRequestMessage(method, uri);
        var sameOrigin = IsSameOrigin(uri);
        foreach (var (name, value) in options.Headers)
        {
            if (sameOrigin || !CredentialHeaders.Contains(name))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (authorization is not null && sameOrigin)
        {
            request.Headers.Remove("Authorization");
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (range is { } r)
        {
            request.Headers.Range = new RangeHeaderValue(r.From, r.To);
        }

        return request;
    }

    private async ValueTask<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, bool sync, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref requestCount);
        var uri = request.RequestUri!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        try
        {
            return sync
                ? client.Send(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token)
                : await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            request.Dispose();
            throw new TransientHttpException(new HttpFailure(ImageErrors.HttpTimeout, $"{Display(uri)} did not answer within {options.Timeout.TotalSeconds:0.#} s.", Inner: e));
        }
        catch (HttpRequestException e)
        {
            request.Dispose();
            if (trust.TakeRefusal() is { } refusal)
            {
                throw refusal.ToException();
            }

            var server = $"{uri.Host}:{uri.Port}";
            throw e.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError =>
                    (Exception)new ImageException(ImageErrors.HttpConnectFailed, $"Cannot resolve the host name '{uri.Host}': {e.Message}", innerException: e),
                HttpRequestError.SecureConnectionError =>
                    new ImageException(ImageErrors.HttpConnectFailed, $"The TLS handshake with {server} failed: {InnermostMessage(e)}", innerException: e),
                HttpRequestError.ConnectionError =>
                    new TransientHttpException(new HttpFailure(ImageErrors.HttpConnectFailed, $"Cannot connect to {server}: {InnermostMessage(e)}", Inner: e)),

                // The connection dropped before the answer: every request here is idempotent, so try again.
                HttpRequestError.ResponseEnded or HttpRequestError.Unknown when e.HttpRequestError == HttpRequestError.ResponseEnded || e.InnerException is IOException =>
                    new TransientHttpException(new HttpFailure(ImageErrors.HttpConnectFailed, $"The connection to {server} ended before an answer: {InnermostMessage(e)}", Inner: e)),
                _ => new ImageException(ImageErrors.HttpError, $"The request to {Display(uri)} failed: {InnermostMessage(e)}", innerException: e),
            };
        }
    }

    private static string InnermostMessage(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }
}
