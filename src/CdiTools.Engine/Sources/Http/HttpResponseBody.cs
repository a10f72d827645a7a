namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// A response body read with a stall limit. HttpClient bounds only the wait for headers; a body
/// that stops arriving would block a reader forever, so a timer aborts the connection when one
/// read waits longer than the timeout.
/// </summary>
internal sealed class HttpResponseBody : IDisposable
{
    private readonly HttpResponseMessage response;
    private readonly Stream stream;
    private readonly Timer watchdog;
    private readonly TimeSpan timeout;
    private int stalled;

    public HttpResponseBody(HttpResponseMessage response, TimeSpan timeout)
    {
        this.response = response;
        this.timeout = timeout;
        stream = response.Content.ReadAsStream();
        watchdog = new Timer(static state => ((HttpResponseBody)state!).Abort(), this, System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
    }

    /// <summary>True once the watchdog aborted the connection; the read that failed then timed out.</summary>
    public bool Stalled => Volatile.Read(ref stalled) != 0;

    public int Read(Span<byte> buffer)
    {
        watchdog.Change(timeout, System.Threading.Timeout.InfiniteTimeSpan);
        try
        {
            return stream.Read(buffer);
        }
        finally
        {
            watchdog.Change(System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
        }
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        watchdog.Change(timeout, System.Threading.Timeout.InfiniteTimeSpan);
        try
        {
            return await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            watchdog.Change(System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the body ends; returns how much arrived.</summary>
    public int ReadFully(Span<byte> buffer, HttpTransport transport)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = Read(buffer[total..]);
            if (read == 0)
            {
                break;
            }

            transport.CountBytes(read);
            total += read;
        }

        return total;
    }

    public async ValueTask<int> ReadFullyAsync(Memory<byte> buffer, HttpTransport transport, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            transport.CountBytes(read);
            total += read;
        }

        return total;
    }

    public void Dispose()
    {
        watchdog.Dispose();
        stream.Dispose();
        response.Dispose();
    }

    private void Abort()
    {
        Volatile.Write(ref stalled, 1);
        response.Dispose();
    }
}
