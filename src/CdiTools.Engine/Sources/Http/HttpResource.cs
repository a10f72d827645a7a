using System.Net;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// An image behind an HTTP(S) URL, read by ranges when the server serves them and as one forward
/// stream otherwise.
/// </summary>
/// <remarks>
/// Opening sends HEAD (or, where HEAD is refused, a GET of the first bytes) and, when the server
/// says it serves ranges, a range request whose answer must match exactly; only then is
/// <see cref="Input"/> random-access. The resource owns one HTTP client; disposing the resource or
/// its <see cref="Input"/> releases it.
/// </remarks>
public sealed class HttpResource : IDisposable
{
    private readonly HttpTransport transport;

    private HttpResource(HttpTransport transport, LayerInput input, bool supportsRanges, long? length, Uri uri)
    {
        this.transport = transport;
        Input = input;
        SupportsRanges = supportsRanges;
        Length = length;
        Uri = uri;
    }

    /// <summary>The image's bytes: random-access when <see cref="SupportsRanges"/>, else a forward stream.</summary>
    public LayerInput Input { get; }

    /// <summary>True when the server answered a range request correctly, so the image is read by ranges.</summary>
    public bool SupportsRanges { get; }

    /// <summary>The image's size, when the server told it.</summary>
    public long? Length { get; }

    /// <summary>The URL after redirects, without user information.</summary>
    public Uri Uri { get; }

    /// <summary>Body bytes received so far, over every request.</summary>
    public long BytesReceived => transport.BytesReceived;

    /// <summary>HTTP requests sent so far, redirects and retries included.</summary>
    public int RequestCount => transport.RequestCount;

    /// <summary>
    /// Finds out how the server serves <paramref name="uri"/> and opens it. User information in
    /// the URL is taken as basic-auth credentials unless <see cref="HttpSourceOptions.Credential"/>
    /// is set, and never sent as part of a URL.
    /// </summary>
    /// <exception cref="ImageException">The server, the connection or the TLS trust refused the image.</exception>
    public static async Task<HttpResource> OpenAsync(Uri uri, HttpSourceOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(options);
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("Only absolute http and https URLs can be read.", nameof(uri));
        }

        var credential = options.Credential ?? HttpUris.CredentialFrom(uri);
        var clean = HttpUris.WithoutUserInfo(uri);
        var transport = new HttpTransport(clean, credential, HttpTlsTrust.Create(options), options);
        try
        {
            return await OpenAsync(transport, clean, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            transport.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Input.Dispose();
        transport.Dispose();
    }

    public override string ToString() =>
        $"{HttpTransport.Display(Uri)} ({(SupportsRanges ? "ranges" : "forward only")}, {(Length is { } l ? $"{l:N0} bytes" : "length unknown")})";

    private static async Task<HttpResource> OpenAsync(HttpTransport transport, Uri uri, CancellationToken cancellationToken)
    {
        var target = uri;
        long? length = null;
        var rangesAdvertised = false;
        bool headAnswered;
        using (var head = await transport.RetryAsync(() => transport.SendAsync(HttpMethod.Head, uri, null, sync: false, cancellationToken), sync: false, cancellationToken).ConfigureAwait(false))
        {
            headAnswered = head.IsSuccessStatusCode;
            if (headAnswered)
            {
                target = head.RequestMessage!.RequestUri!;
                length = head.Content.Headers.ContentLength;
                rangesAdvertised = head.Headers.AcceptRanges.Contains("bytes", StringComparer.OrdinalIgnoreCase);
            }
            else if (head.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                throw transport.StatusFailure(head).ToException();
            }

            // Anything else, a GET may still get: servers that refuse HEAD (405, 501), fail on it
            // (5xx), or sign URLs for GET alone (403).
        }

        if (!headAnswered || (rangesAdvertised && length > 0))
        {
            var (source, whole) = await ProbeAsync(transport, target, headAnswered ? length : null, cancellationToken).ConfigureAwait(false);
            if (source is not null)
            {
                return new HttpResource(transport, LayerInput.FromRandom(source), supportsRanges: true, source.Length, source.Uri);
            }

            if (whole is not null)
            {
                return Forward(transport, whole);
            }
        }

        var response = await transport.RetryAsync(
            async () => Content(transport, await transport.SendAsync(HttpMethod.Get, target, null, sync: false, cancellationToken).ConfigureAwait(false)),
            sync: false,
            cancellationToken).ConfigureAwait(false);
        return Forward(transport, response);
    }

    /// <summary>
    /// Asks for the first block by range. A matching 206 makes a random-access source seeded with
    /// that block; a 200 is the whole body of a server that ignores ranges, kept as the forward
    /// stream; a 206 that does not match gives neither, and the caller asks again without a range.
    /// </summary>
    private static async Task<(HttpRangeSource? Source, HttpResponseMessage? Whole)> ProbeAsync(
        HttpTransport transport, Uri uri, long? expectedLength, CancellationToken cancellationToken)
    {
        return await transport.RetryAsync<(HttpRangeSource?, HttpResponseMessage?)>(
            async () =>
            {
                var response = await transport.SendAsync(HttpMethod.Get, uri, (0, HttpRangeSource.BlockSize - 1), sync: false, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    // An empty file has no first byte to give; the plain GET that follows reads it.
                    response.Dispose();
                    return (null, null);
                }

                if (response.StatusCode != HttpStatusCode.PartialContent)
                {
                    return (null, Content(transport, response));
                }

                using var body = new HttpResponseBody(response, transport.Timeout);
                var range = response.Content.Headers.ContentRange;
                if (range is not { Unit: "bytes", From: 0, To: { } to, Length: { } total }
                    || total <= 0
                    || to != Math.Min(HttpRangeSource.BlockSize, total) - 1
                    || (expectedLength is { } expected && expected != total)
                    || (response.Content.Headers.ContentLength is { } bodyLength && bodyLength != to + 1))
                {
                    return (null, null);
                }

                var first = new byte[to + 1];
                var finalUri = response.RequestMessage!.RequestUri!;
                int read;
                try
                {
                    read = await body.ReadFullyAsync(first, transport, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    throw new TransientHttpException(new HttpFailure(ImageErrors.HttpTruncated, $"The connection to {HttpTransport.Display(finalUri)} ended in the first {first.Length:N0} bytes.", Inner: e));
                }

                if (read < first.Length)
                {
                    throw new TransientHttpException(new HttpFailure(ImageErrors.HttpTruncated, $"{HttpTransport.Display(finalUri)} sent {read:N0} of the first {first.Length:N0} bytes.", read));
                }

                return (new HttpRangeSource(transport, finalUri, total, first), null);
            },
            sync: false,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Passes a 2xx answer on; a 5xx is worth another try; anything else is final.</summary>
    private static HttpResponseMessage Content(HttpTransport transport, HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        var failure = transport.StatusFailure(response);
        var code = (int)response.StatusCode;
        response.Dispose();
        throw code >= 500 ? new TransientHttpException(failure) : failure.ToException();
    }

    private static HttpResource Forward(HttpTransport transport, HttpResponseMessage response)
    {
        var length = response.Content.Headers.ContentLength;
        var uri = response.RequestMessage!.RequestUri!;
        var stream = new HttpForwardStream(transport, new HttpResponseBody(response, transport.Timeout), length, uri);
        return new HttpResource(transport, LayerInput.FromStream(stream, length), supportsRanges: false, length, uri);
    }
}
