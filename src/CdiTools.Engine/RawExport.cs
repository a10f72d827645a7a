using System.IO.Compression;
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
    /// With <paramref name="gzip"/> the stream is one gzip member at the fastest level: long zero
    /// runs shrink to almost nothing, so a sparse disk crosses the network at the size of its data.
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
        var body = gzip ? new GZipStream(gate, CompressionLevel.Fastest, leaveOpen: true) : (Stream)gate;
        var completed = false;
        try
        {
            using var sink = new StreamSink(body, leaveOpen: true);
            var result = ImageConverter.Convert(image, sink, computeSha256: false, progress, cancellationToken);
            completed = true;
            return result;
        }
        finally
        {
            // After a failure the gzip trailer must not reach the receiver, or a part of the disk
            // would look like a whole one: the gate drops it.
            if (!completed)
            {
                gate.Close();
            }

            await body.DisposeAsync().ConfigureAwait(false);
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
