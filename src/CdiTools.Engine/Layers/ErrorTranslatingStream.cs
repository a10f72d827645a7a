using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers;

/// <summary>
/// Turns a decoder's own exceptions into <see cref="ImageException"/>s with stable ids
/// (<c>GzipCorrupt</c>, <c>ZstdTruncated</c>, ...) and the compressed offset where it stopped.
/// </summary>
internal sealed class ErrorTranslatingStream(Stream decoder, string layer, ImageError truncatedError, ImageError corruptError) : ForwardReadStream
{
    private long decoded;

    public override int Read(Span<byte> buffer)
    {
        try
        {
            var read = decoder.Read(buffer);
            decoded += read;
            return read;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException && e is not ImageException)
        {
            var truncated = e.Message.Contains("end of", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("Unexpected end", StringComparison.OrdinalIgnoreCase);
            throw new ImageException(
                truncated ? truncatedError : corruptError,
                $"The {layer.ToLowerInvariant()} layer is {(truncated ? "truncated" : "corrupt")} after {decoded:N0} decoded bytes: {e.Message}",
                innerException: e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decoder.Dispose();
        }

        base.Dispose(disposing);
    }
}
