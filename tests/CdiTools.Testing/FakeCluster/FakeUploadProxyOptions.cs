using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// How a <see cref="FakeUploadProxy"/> behaves. The defaults are CDI v1.66's own numbers
/// (pkg/uploadproxy/uploadproxy.go, pkg/token); tests shorten the waits so a 503 does not take ten seconds.
/// </summary>
public sealed record FakeUploadProxyOptions
{
    /// <summary>
    /// Whether <c>/v1beta1/upload-async</c> (and its form and v1alpha1 twins) exists. False plays
    /// a CDI from before asynchronous uploads: those paths answer Go's plain 404, HEAD included,
    /// so clients fall back to <c>/v1beta1/upload</c>.
    /// </summary>
    public bool OfferAsync { get; init; } = true;

    /// <summary>
    /// How long the proxy waits for the upload pod to become ready before it answers 503
    /// "context deadline exceeded" (CDI: 10 s).
    /// </summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the proxy looks at the PVC while it waits (CDI: 1 s).</summary>
    public TimeSpan ReadyPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after answering an asynchronous upload the fake calls
    /// <see cref="FakeApiServer.CompleteUpload"/>, standing in for CDI's conversion after the
    /// response; meanwhile the upload server answers further uploads 503 (still processing).
    /// </summary>
    public TimeSpan AsyncCompletionDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long past its <c>exp</c> claim a token is still accepted; CDI's validator allows 10 s of
    /// clock skew (uploadTokenLeeway).
    /// </summary>
    public TimeSpan TokenLeeway { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A lifetime shorter than the 5 minutes CDI's API server writes into tokens, counted from
    /// issue; null keeps the tokens' own expiry. For tests of clients that refresh expired tokens.
    /// </summary>
    public TimeSpan? TokenLifetime { get; init; }

    /// <summary>
    /// Where the raw disks of uploads are stored; a temporary folder removed on dispose when null.
    /// A given folder is left in place.
    /// </summary>
    public string? StorageDirectory { get; init; }

    /// <summary>
    /// The space the upload server finds on the volume, from the PVC. CDI takes the smaller of
    /// the filesystem's free space and the requested size for Filesystem volumes and the device
    /// size for Block volumes (pkg/importer/data-processor.go calculateTargetSize); the fake has no
    /// filesystem, so by default it takes the PVC's capacity, else its requested size.
    /// </summary>
    public Func<JsonObject, long>? AvailableSpace { get; init; }

    /// <summary>
    /// Plays a route or ingress in front of the proxy that refuses chunked bodies: a POST without
    /// Content-Length gets 411 Length Required. CDI's proxy itself takes both.
    /// </summary>
    public bool RequireContentLength { get; init; }
}

/// <summary>One upload the fake upload server received a body for, whatever became of it.</summary>
public sealed record FakeUpload
{
    public required string Namespace { get; init; }

    public required string PvcName { get; init; }

    /// <summary>The path the client posted to, such as <c>/v1beta1/upload-async</c>.</summary>
    public required string Path { get; init; }

    /// <summary>Whether the upload server handled it asynchronously (answer after the bytes are in, completion later).</summary>
    public bool Async { get; init; }

    /// <summary>Whether the body was multipart form data (the <c>upload-form</c> paths).</summary>
    public bool Form { get; init; }

    /// <summary>Whether the PVC's content type is <c>archive</c>: the body is a tar that CDI unpacks onto the volume.</summary>
    public bool Archive { get; init; }

    /// <summary>The request's Content-Type header.</summary>
    public string? ContentType { get; init; }

    /// <summary>The <c>x-cdi-content-type</c> header, with which clone sources name their stream.</summary>
    public string? CdiContentType { get; init; }

    /// <summary>The request's Content-Length; null when the body came chunked.</summary>
    public long? ContentLength { get; init; }

    /// <summary>Body bytes read from the connection (after chunked decoding, before any decompression).</summary>
    public long BytesReceived { get; init; }

    /// <summary>The headers CDI's data processor recognised, outermost first (<c>gz</c>, <c>xz</c>, <c>zst</c>, <c>qcow2</c>, <c>tar</c>...).</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>The disk format under the compression: <c>raw</c>, <c>qcow2</c>, <c>vmdk</c>, <c>vdi</c>, <c>vhd</c>, <c>vhdx</c>; <c>tar</c> for archives.</summary>
    public string? Format { get; init; }

    /// <summary>The disk's size as qemu-img info would give it, once known.</summary>
    public long? VirtualSize { get; init; }

    /// <summary>The status answered; null when the connection was reset or the client went away.</summary>
    public int? Status { get; init; }

    /// <summary>The body answered with the status (CDI's text), empty for a success.</summary>
    public string Message { get; init; } = "";

    /// <summary>True when an injected fault reset the connection.</summary>
    public bool Reset { get; init; }

    /// <summary>True when the client closed the connection before the upload server answered.</summary>
    public bool ClientAborted { get; init; }

    /// <summary>
    /// The file holding what the volume got: the raw disk (as <c>qemu-img convert -O raw</c> makes
    /// it, before CDI grows it to the volume), or the tar for an archive; null unless it succeeded.
    /// </summary>
    public string? StoredPath { get; init; }

    /// <summary>The SHA-256 (lowercase hex) of <see cref="StoredPath"/>'s whole content, zeros included.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The length of <see cref="StoredPath"/>.</summary>
    public long? StoredLength { get; init; }

    public DateTimeOffset Started { get; init; }

    public DateTimeOffset Finished { get; init; }

    /// <summary>Whether the volume got the data (the upload answered 200).</summary>
    public bool Succeeded => Status == 200 && StoredPath is not null;
}

/// <summary>One request the fake upload proxy answered, for asserting what a client sent (HEAD probes, retries).</summary>
public sealed record FakeUploadRequest(string Method, string Path, string? Token, int? Status, DateTimeOffset Time);
