using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// The body of one GET as a forward-only stream. A body that ends early, by a closed connection or
/// fewer bytes than Content-Length, is a refusal (HttpTruncated), never a silent end of file.
/// Disposing the stream disposes the transport when it owns it: for a single download it is the
/// last user of the connection; a registry reads many blobs over one.
/// </summary>
internal sealed class HttpForwardStream(HttpTransport transport, HttpResponseBody body, long? length, Uri uri, bool ownsTransport = true) : ForwardReadStream
{
    private long received;
    private bool ended;
    private bool disposed;

    public override bool CanRead => !disposed;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (ended || buffer.IsEmpty)
        {
            return 0;
        }

        int read;
        try
        {
            read = body.Read(buffer);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or HttpRequestException)
        {
            throw Broken(e);
        }

        return Account(read);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (ended || buffer.IsEmpty)
        {
            return 0;
        }

        int read;
        try
        {
            read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw Broken(e);
        }

        return Account(read);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;
            body.Dispose();
            if (ownsTransport)
            {
                transport.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private int Account(int read)
    {
        if (read > 0)
        {
            received += read;
            transport.CountBytes(read);
            return read;
        }

        ended = true;
        if (length is { } expected && received < expected)
        {
            throw Truncated(null);
        }

        return 0;
    }

    private ImageException Broken(Exception e) => body.Stalled
        ? new ImageException(ImageErrors.HttpTimeout, $"{HttpTransport.Display(uri)} sent nothing for {transport.Timeout.TotalSeconds:0.#} s after {received:N0} bytes.", received, e)
        : Truncated(e);

    private ImageException Truncated(Exception? e)
    {
        var expected = length is { } l ? $"{received:N0} of {l:N0} bytes" : $"{received:N0} bytes, before the end of the body";
        return new ImageException(ImageErrors.HttpTruncated, $"The connection to {HttpTransport.Display(uri)} ended after {expected}.", received, e);
    }
}
