using System.Net;
using System.Text;
using System.Text.Json;
using CdiTools.Engine.Sources.Http;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// A client of the registry HTTP API (distribution spec v2) for one repository, over the engine's
/// HTTP transport: pings <c>/v2/</c>, answers the registry's challenge (basic auth, or a bearer
/// token from the token service it names, anonymous or with the credential), and reads manifests
/// and blobs. Credentials and tokens go only to the registry and its token service, never to a
/// host a blob request is redirected to, and never into a message.
/// </summary>
internal sealed class RegistryClient : IImageStore
{
    private const int MaxTokenResponseBytes = 1 << 20;
    private const int MaxErrorBodyBytes = 16 << 10;

    private readonly ContainerImageReference reference;
    private readonly RegistryOptions options;
    private readonly HttpTlsTrust trust;
    private HttpTransport transport;
    private Uri baseUri;
    private bool basicSet;

    private RegistryClient(ContainerImageReference reference, RegistryOptions options, HttpTlsTrust trust, string scheme)
    {
        this.reference = reference;
        this.options = options;
        this.trust = trust;
        baseUri = new Uri($"{scheme}://{reference.ApiHost}/");
        transport = new HttpTransport(baseUri, null, trust, options.Http);
    }

    public string Kind => "registry";

    private string DefaultScope => $"repository:{reference.Repository}:pull";

    /// <summary>
    /// Reaches the registry over HTTPS, or plain HTTP where the registry is on this machine or
    /// <see cref="RegistryOptions.AllowInsecureRegistry"/> allows it and HTTPS fails to connect,
    /// and authenticates as the registry asks.
    /// </summary>
    public static async Task<RegistryClient> ConnectAsync(ContainerImageReference reference, RegistryOptions options, CancellationToken cancellationToken)
    {
        var trust = HttpTlsTrust.Create(options.Http);
        var client = new RegistryClient(reference, options, trust, "https");
        try
        {
            try
            {
                await client.PingAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ImageException e) when (e.Error == ImageErrors.HttpConnectFailed && (reference.IsLoopback || options.AllowInsecureRegistry))
            {
                client.transport.Dispose();
                client.baseUri = new Uri($"http://{reference.ApiHost}/");
                client.transport = new HttpTransport(client.baseUri, null, trust, options.Http);
                await client.PingAsync(cancellationToken).ConfigureAwait(false);
            }

            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The registry's address as reached (https, or http when it fell back).</summary>
    public Uri BaseUri => baseUri;

    public async ValueTask<ImageManifest> GetRootAsync(CancellationToken cancellationToken)
    {
        var what = $"manifest of {reference}";
        var (body, mediaType, announced) = await GetManifestBytesAsync(reference.ManifestReference!, what, cancellationToken).ConfigureAwait(false);

        // By digest the bytes must hash to it; by tag, to the digest the registry announced, if it did.
        var digest = VerifiedBlobStream.Check(body, reference.Digest ?? announced, what);
        return ImageManifest.Parse(body, mediaType, digest, what);
    }

    public async ValueTask<ImageManifest> GetManifestAsync(Descriptor descriptor, CancellationToken cancellationToken)
    {
        var what = $"manifest {descriptor.Digest} ({descriptor.Platform}) of {reference}";
        if (descriptor.Size > ImageManifest.MaxBytes)
        {
            throw TooLarge(what, descriptor.Size);
        }

        var (body, mediaType, _) = await GetManifestBytesAsync(descriptor.Digest, what, cancellationToken).ConfigureAwait(false);
        var digest = VerifiedBlobStream.Check(body, descriptor.Digest, what);
        return ImageManifest.Parse(body, string.IsNullOrEmpty(descriptor.MediaType) ? mediaType : descriptor.MediaType, digest, what);
    }

    public async ValueTask<byte[]> GetSmallBlobAsync(Descriptor descriptor, int limit, CancellationToken cancellationToken)
    {
        var what = $"blob {descriptor.Digest} of {reference}";
        if (descriptor.Size > limit)
        {
            throw TooLarge(what, descriptor.Size);
        }

        using var stream = new VerifiedBlobStream(await OpenBlobAsync(descriptor, sync: false, cancellationToken).ConfigureAwait(false), descriptor, what);
        var body = new byte[descriptor.Size];
        await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        stream.VerifyToEnd();
        return body;
    }

    public async ValueTask<Stream> OpenBlobAsync(Descriptor descriptor, bool sync, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, $"v2/{reference.Repository}/blobs/{descriptor.Digest}");
        var response = await GetAsync(uri, null, sync, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(response, $"blob {descriptor.Digest} of {reference}", sync, cancellationToken).ConfigureAwait(false);
        }

        return new HttpForwardStream(transport, new HttpResponseBody(response, transport.Timeout), response.Content.Headers.ContentLength, response.RequestMessage!.RequestUri!, ownsTransport: false);
    }

    public void Dispose() => transport.Dispose();

    private async Task PingAsync(CancellationToken cancellationToken)
    {
        using var response = await GetAsync(new Uri(baseUri, "v2/"), null, sync: false, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // 401 even after answering the challenge: the manifest request says why, with the repository in the message.
            return;
        }

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ImageException(ImageErrors.RegistryNotFound, $"{HttpTransport.Display(baseUri)} does not serve the registry API (GET /v2/ answered HTTP 404).");
        }

        throw transport.StatusFailure(response).ToException();
    }

    private async Task<(byte[] Body, string? MediaType, string? Digest)> GetManifestBytesAsync(string manifestReference, string what, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, $"v2/{reference.Repository}/manifests/{manifestReference}");
        using var response = await GetAsync(uri, MediaTypes.ManifestAccept, sync: false, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(response, what, sync: false, cancellationToken).ConfigureAwait(false);
        }

        if (response.Content.Headers.ContentLength is > ImageManifest.MaxBytes and var length)
        {
            throw TooLarge(what, length);
        }

        var body = await ReadBoundedAsync(response, ImageManifest.MaxBytes, cancellationToken).ConfigureAwait(false)
            ?? throw TooLarge(what, null);
        var announced = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        if (announced is not null && !announced.StartsWith("sha256:", StringComparison.Ordinal))
        {
            announced = null;
        }

        return (body, response.Content.Headers.ContentType?.MediaType, announced);
    }

    /// <summary>
    /// A GET that repeats what may be repeated (5xx, dropped connections) and, on a 401, answers
    /// the challenge once and asks again. Returns the final answer, whatever its status.
    /// </summary>
    private async ValueTask<HttpResponseMessage> GetAsync(Uri uri, string? accept, bool sync, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await transport.RetryAsync(
                async () =>
                {
                    var answer = await transport.SendAsync(HttpMethod.Get, uri, null, sync, cancellationToken, accept).ConfigureAwait(false);
                    if ((int)answer.StatusCode >= 500)
                    {
                        var failure = transport.StatusFailure(answer);
                        answer.Dispose();
                        throw new TransientHttpException(failure);
                    }

                    return answer;
                },
                sync,
                cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0
                && await AnswerChallengeAsync(AuthChallenge.From(response), sync, cancellationToken).ConfigureAwait(false))
            {
                response.Dispose();
                continue;
            }

            return response;
        }
    }

    /// <summary>Sets the Authorization the challenge asks for; false when there is nothing new to try.</summary>
    private async ValueTask<bool> AnswerChallengeAsync(IReadOnlyList<AuthChallenge> challenges, bool sync, CancellationToken cancellationToken)
    {
        if (challenges.FirstOrDefault(c => c.IsBearer) is { Realm: not null } bearer)
        {
            // The ping's challenge names no scope; a later one may widen it. A 401 with a token in
            // hand is usually an expired one (tokens live minutes, a large disk takes longer), so
            // a fresh token is asked for once per request.
            var scope = bearer.Scope ?? DefaultScope;
            var token = await FetchTokenAsync(bearer, scope, sync, cancellationToken).ConfigureAwait(false);
            transport.SetAuthorization("Bearer " + token);
            return true;
        }

        if (challenges.Any(c => c.IsBasic) && options.Http.Credential is { } credential && !basicSet)
        {
            transport.SetAuthorization("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}")));
            basicSet = true;
            return true;
        }

        return false;
    }

    private async ValueTask<string> FetchTokenAsync(AuthChallenge challenge, string scope, bool sync, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw new ImageException(ImageErrors.RegistryUnauthorized, $"{HttpTransport.Display(baseUri)} asks for a token from '{challenge.Realm}', which is not an http(s) URL.");
        }

        // The credential travels in clear text only where the user allowed plain HTTP to the registry itself.
        var credential = options.Http.Credential;
        if (realm.Scheme == "http" && !(baseUri.Scheme == "http" && realm.IdnHost == baseUri.IdnHost))
        {
            credential = null;
        }

        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : string.Empty);
        if (challenge.Service is { } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        var tokenUri = new UriBuilder(realm) { Query = query.ToString() }.Uri;
        var shown = HttpTransport.Display(new UriBuilder(realm) { Query = string.Empty }.Uri);
        using var tokenTransport = new HttpTransport(new Uri(realm.GetLeftPart(UriPartial.Authority)), credential, trust, options.Http);
        using var response = await tokenTransport.RetryAsync(
            async () =>
            {
                var answer = await tokenTransport.SendAsync(HttpMethod.Get, tokenUri, null, sync, cancellationToken).ConfigureAwait(false);
                if ((int)answer.StatusCode >= 500)
                {
                    var failure = tokenTransport.StatusFailure(answer);
                    answer.Dispose();
                    throw new TransientHttpException(failure);
                }

                return answer;
            },
            sync,
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new ImageException(ImageErrors.RegistryUnauthorized,
                $"The token service {shown} of {reference.Registry} refused a token for {scope} (HTTP {(int)response.StatusCode}); {(credential is null ? "no credentials were sent" : "the credentials that were sent were refused")}.");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new ImageException(ImageErrors.RegistryUnauthorized, $"The token service {shown} of {reference.Registry} answered HTTP {(int)response.StatusCode} to a token request for {scope}.");
        }

        var body = await ReadBoundedAsync(response, MaxTokenResponseBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new ImageException(ImageErrors.RegistryUnauthorized, $"The token service {shown} answered with more than {MaxTokenResponseBytes:N0} bytes.");
        try
        {
            using var document = JsonDocument.Parse(body);
            foreach (var name in new[] { "token", "access_token" })
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty(name, out var value)
                    && value.ValueKind == JsonValueKind.String
                    && value.GetString() is { Length: > 0 } token
                    && !token.AsSpan().ContainsAny('\r', '\n'))
                {
                    return token;
                }
            }
        }
        catch (JsonException)
        {
        }

        throw new ImageException(ImageErrors.RegistryUnauthorized, $"The token service {shown} answered without a token.");
    }

    private async ValueTask<ImageException> RefusalAsync(HttpResponseMessage response, string what, bool sync, CancellationToken cancellationToken)
    {
        using (response)
        {
            var status = (int)response.StatusCode;
            var (code, message) = await ErrorBodyAsync(response, sync, cancellationToken).ConfigureAwait(false);
            var said = code is null ? string.Empty : $" ({code}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + message)})";
            switch (status)
            {
                case 404:
                    var missing = code switch
                    {
                        "NAME_UNKNOWN" => $"the repository {reference.Repository} does not exist",
                        "MANIFEST_UNKNOWN" => $"there is no {(reference.Digest is null ? $"tag {reference.Tag}" : $"manifest {reference.Digest}")} in {reference.Repository}",
                        "BLOB_UNKNOWN" => "the blob does not exist",
                        _ => "it does not exist",
                    };
                    return new ImageException(ImageErrors.RegistryNotFound, $"{reference.Registry} has no {what}: {missing}{said}.");
                case 401 or 403:
                    var credentials = options.Http.Credential is null
                        ? "no credentials were sent; the repository may be private, or may not exist"
                        : status == 401 ? "the credentials that were sent were refused" : "the credentials that were sent do not give access to it";
                    return new ImageException(ImageErrors.RegistryUnauthorized, $"{reference.Registry} refused access to the {what} (HTTP {status}){said}; {credentials}.");
                default:
                    var failure = transport.StatusFailure(response);
                    return new ImageException(failure.Error, failure.Message + said);
            }
        }
    }

    private static async ValueTask<(string? Code, string? Message)> ErrorBodyAsync(HttpResponseMessage response, bool sync, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is > MaxErrorBodyBytes || response.RequestMessage?.Method == HttpMethod.Head)
        {
            return (null, null);
        }

        try
        {
            byte[]? body = sync ? ReadBounded(response, MaxErrorBodyBytes) : await ReadBoundedAsync(response, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                return (null, null);
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors)
                && errors.ValueKind == JsonValueKind.Array
                && errors.GetArrayLength() > 0
                && errors[0].ValueKind == JsonValueKind.Object)
            {
                var first = errors[0];
                var code = first.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = first.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (code, message is { Length: > 200 } ? message[..200] + "…" : message);
            }
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
        }

        return (null, null);
    }

    /// <summary>The whole body when it is at most <paramref name="limit"/> bytes; null when it is longer.</summary>
    private static async ValueTask<byte[]?> ReadBoundedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await ReadBoundedAsync(stream, limit, cancellationToken).ConfigureAwait(false);
    }

    private static byte[]? ReadBounded(HttpResponseMessage response, int limit)
    {
        using var stream = response.Content.ReadAsStream();
        var buffer = new MemoryStream();
        var chunk = new byte[16 << 10];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                return null;
            }
        }

        return buffer.ToArray();
    }

    internal static async ValueTask<byte[]?> ReadBoundedAsync(Stream stream, int limit, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 << 10];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                return null;
            }
        }

        return buffer.ToArray();
    }

    private static ImageException TooLarge(string what, long? size) => new(
        ImageErrors.RegistryManifestTooLarge,
        $"The {what} is {(size is { } s ? $"{s:N0} bytes" : "larger than the limit")}; manifests, indexes and configs are read only up to {ImageManifest.MaxBytes:N0} bytes.");
}
