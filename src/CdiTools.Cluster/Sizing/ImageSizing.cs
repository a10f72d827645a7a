using CdiTools.Engine;

namespace CdiTools.Cluster.Sizing;

/// <summary>An image and the PVC sizes CDI needs for it, by volume mode.</summary>
public sealed record ImageSizing(ImageInfo Image, double FilesystemOverhead, long FilesystemPvcBytes, long BlockPvcBytes)
{
    /// <summary>Inspects an image (decoding it once if its format does not state its size) and sizes its PVC.</summary>
    public static async Task<ImageSizing> DescribeAsync(
        ImageLocation location,
        ImageOpenOptions options,
        double filesystemOverhead,
        Action<ConversionProgress>? progress,
        CancellationToken cancellationToken)
    {
        var image = await ImageInspector.InspectAsync(location, options, progress, cancellationToken).ConfigureAwait(false);
        return new ImageSizing(
            image,
            filesystemOverhead,
            PvcSize.Required(image.VirtualSize, PvcVolumeMode.Filesystem, filesystemOverhead),
            PvcSize.Required(image.VirtualSize, PvcVolumeMode.Block));
    }
}
