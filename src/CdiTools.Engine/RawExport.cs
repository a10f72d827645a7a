using CdiTools.Engine.Sinks;

namespace CdiTools.Engine;

/// <summary>
/// Converts an image to its raw disk as one ordered stream, zeros included, optionally gzip
/// compressed: the body of an upload that the receiver stores without converting it.
/// </summary>
public static class RawExport
{
    /// <summary>
    /// Writes the raw disk of <paramref name="source"/> to <paramref name="destination"/> (left open).
    /// With <paramref name="gzip"/> the stream is gzip (<see cref="GzipBodySink"/>): data at the
    /// fastest level, zero runs as prepared members, so a sparse disk crosses the network at
    /// little more than the size of its data.
    /// </summary>
    public static async Task<ImportResult> ToStreamAsync(
        ImageLocation source,
        Stream destination,
        bool gzip,
        ImageOpenOptions options,
        Action<ConversionProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var image = await source.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        using var abort = cancellationToken.Register(image.Abort);
        var gate = new ClosableStream(destination);
        var completed = false;
        IRawSink sink = gzip ? new GzipBodySink(gate) : new StreamSink(gate, leaveOpen: true);
        try
        {
            var result = ImageConverter.Convert(image, sink, computeSha256: false, progress, cancellationToken);
            completed = true;
            return result;
        }
        finally
        {
            // After a failure no part of the disk may look like a whole one: the gzip stream is
            // left unfinished and the gate drops the rest. (A cut body is an error to the receiver
            // anyway: a chunked body lacks its last chunk, a measured one falls short.)
            if (!completed)
            {
                (sink as GzipBodySink)?.Abandon();
                gate.Close();
            }

            sink.Dispose();
        }
    }
}

/// <summary>A stream over another that, once closed, drops what is written (and leaves the other open).</summary>
internal sealed class ClosableStream(Stream inner) : Sources.WriteOnlyStream
{
    private bool closed;

    public override void Close() => closed = true;

    public override void Flush()
    {
        if (!closed)
        {
            inner.Flush();
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!closed)
        {
            inner.Write(buffer);
        }
    }
}
