using System.Diagnostics;
using CdiTools.Engine.Sinks;

namespace CdiTools.Engine;

/// <summary>Converts an opened image to a raw disk in one pass.</summary>
public static class ImageConverter
{
    /// <summary>
    /// Writes the disk of <paramref name="image"/> to <paramref name="sink"/>. On any failure or
    /// cancellation the sink is not completed, so it leaves nothing behind.
    /// </summary>
    /// <param name="computeSha256">Also hash the raw disk (zeros included) for the result.</param>
    /// <param name="progress">Called from a worker thread, once per few MiB written.</param>
    public static ImportResult Convert(
        OpenedImage image,
        IRawSink sink,
        bool computeSha256 = false,
        Action<ConversionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (image.Driver.Refusal is { } refusal)
        {
            throw refusal;
        }

        var clock = Stopwatch.StartNew();
        var details = image.Details;
        Action<long>? report = progress is null
            ? null
            : written => progress(new ConversionProgress(written, details.VirtualSize, image.InputBytesRead, image.InputLength, clock.Elapsed));
        using var output = new RawOutput(sink, details.VirtualSize, computeSha256, report, cancellationToken);
        image.Driver.Convert(output, cancellationToken);
        if (output.Position == 0)
        {
            // qemu-img would write an empty file, and CDI would fill a volume with nothing; an
            // empty image is a failed download or a wrong file far more often than a wish.
            throw new ImageException(ImageErrors.EmptyImage, $"The image holds no disk: its {string.Join(" > ", image.FormatChain)} content is 0 bytes long. Check that it is the file you meant.");
        }

        output.Finish();
        clock.Stop();
        progress?.Invoke(new ConversionProgress(output.Position, output.Position, image.InputBytesRead, image.InputLength, clock.Elapsed));
        return new ImportResult
        {
            FormatChain = image.FormatChain,
            VirtualSize = output.Position,
            BytesRead = image.InputBytesRead,
            BytesWritten = output.Position,
            AllocatedBytes = sink.AllocatedBytes,
            ScratchBytes = image.Driver.ScratchBytes,
            KeptBytes = image.Driver.KeptBytes,
            RandomAccess = image.RandomAccess,
            Duration = clock.Elapsed,
            FlushDuration = sink.FlushDuration,
            Sha256 = output.Sha256,
            TarMember = image.TarMember,
            Notes = image.Details.Notes,
            Warnings = image.Warnings,
        };
    }
}
