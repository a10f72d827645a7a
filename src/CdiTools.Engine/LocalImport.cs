using CdiTools.Engine.Formats;
using CdiTools.Engine.Sinks;

namespace CdiTools.Engine;

/// <summary>Converts an image to a raw disk file, in one pass, leaving nothing behind on failure.</summary>
public static class LocalImport
{
    private static readonly string[] ImageExtensions =
        [.. LayerFormats.All.Where(format => format.Role != LayerRole.Refused).SelectMany(format => format.Extensions), LayerFormats.AnyFormatExtension];

    /// <summary>
    /// The file to write for <paramref name="destination"/>: itself, or, when it is a folder, the
    /// image's name without its image and compression extensions plus ".raw" (disk.qcow2.xz gives disk.raw).
    /// </summary>
    public static string ResolveDestination(string destination, ImageLocation source)
    {
        var full = Path.GetFullPath(destination);
        if (!Directory.Exists(full) && !destination.EndsWith(Path.DirectorySeparatorChar) && !destination.EndsWith(Path.AltDirectorySeparatorChar))
        {
            return full;
        }

        return Path.Combine(full, BaseName(source.Name) + ".raw");
    }

    /// <summary>A file name without its image and compression extensions: disk.qcow2.xz gives disk.</summary>
    public static string BaseName(string name)
    {
        while (ImageExtensions.FirstOrDefault(e => name.Length > e.Length && name.EndsWith(e, StringComparison.OrdinalIgnoreCase)) is { } extension)
        {
            name = name[..^extension.Length];
        }

        return name;
    }

    /// <param name="overwrite">Replace an existing destination; otherwise it is an error before anything is read.</param>
    /// <param name="computeSha256">Hash the raw disk for the result.</param>
    public static async Task<ImportResult> ToFileAsync(
        ImageLocation source,
        string destinationFile,
        ImageOpenOptions options,
        bool overwrite,
        bool computeSha256,
        Action<ConversionProgress>? progress,
        CancellationToken cancellationToken)
    {
        if (!overwrite && File.Exists(destinationFile))
        {
            throw new DestinationExistsException(destinationFile);
        }

        using var image = await source.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        using var abort = cancellationToken.Register(image.Abort);
        using var sink = new SparseFileSink(destinationFile, overwrite);
        return ImageConverter.Convert(image, sink, computeSha256, progress, cancellationToken);
    }
}
