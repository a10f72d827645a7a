using CdiTools.Engine.Formats;

namespace CdiTools.Engine;

/// <summary>What an image is, learned from its headers, or by reading it through when its format does not say its size.</summary>
public sealed record ImageInfo
{
    public required string Source { get; init; }

    public required IReadOnlyList<string> FormatChain { get; init; }

    public required ImageDetails Details { get; init; }

    /// <summary>The disk's size: from the headers, or measured by decoding the whole input.</summary>
    public required long VirtualSize { get; init; }

    /// <summary>True when <see cref="VirtualSize"/> was measured by decoding, not read from a header.</summary>
    public required bool SizeMeasured { get; init; }

    public long? InputLength { get; init; }

    public required bool RandomAccess { get; init; }

    public string? TarMember { get; init; }

    /// <summary>What the user should be warned of, such as a file name that says another format than the content.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The error id a conversion of the image fails with before writing anything (a parent, a
    /// backing or external data file, encryption); null when it converts.</summary>
    public string? RefusalId { get; init; }

    /// <summary>That error's message, with what to do instead.</summary>
    public string? Refusal { get; init; }
}

/// <summary>Inspects images without writing anything.</summary>
public static class ImageInspector
{
    /// <summary>
    /// Opens <paramref name="location"/> and describes it. A raw disk inside gzip, xz or zstd does
    /// not state its size, so it is decoded once to a null sink to measure it (reported through
    /// <paramref name="progress"/>).
    /// </summary>
    public static async Task<ImageInfo> InspectAsync(ImageLocation location, ImageOpenOptions options, Action<ConversionProgress>? progress, CancellationToken cancellationToken)
    {
        using var image = await location.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        using var abort = cancellationToken.Register(image.Abort);
        var details = image.Details;
        var size = details.VirtualSize;
        var measured = false;
        if (size is null)
        {
            using var sink = new Sinks.NullSink();
            size = ImageConverter.Convert(image, sink, progress: progress, cancellationToken: cancellationToken).VirtualSize;
            measured = true;
        }

        return new ImageInfo
        {
            Source = location.ToString(),
            FormatChain = image.FormatChain,
            Details = details,
            VirtualSize = size.Value,
            SizeMeasured = measured,
            InputLength = image.InputLength,
            RandomAccess = image.RandomAccess,
            TarMember = image.TarMember,
            Warnings = image.Warnings,
            RefusalId = image.Refusal?.ErrorId,
            Refusal = image.Refusal?.Message,
        };
    }
}
