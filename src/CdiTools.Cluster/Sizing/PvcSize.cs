using System.Globalization;

namespace CdiTools.Cluster.Sizing;

/// <summary>
/// How large a PVC must be for CDI to accept a disk of a given virtual size, by CDI's own rule
/// (pkg/util/util.go GetRequiredSpace): a Filesystem volume holds disk.img plus filesystem
/// overhead, so the size is rounded up to 1 MiB and grown by the overhead (6% unless CDIConfig
/// says otherwise); a Block volume needs only the virtual size.
/// </summary>
public static class PvcSize
{
    /// <summary>CDI's default filesystem overhead (pkg/common/common.go DefaultGlobalOverhead).</summary>
    public const double DefaultFilesystemOverhead = 0.06;

    /// <summary>CDI's alignment for disk images on a filesystem (pkg/util/util.go DefaultAlignBlockSize).</summary>
    public const long AlignBlockSize = 1 << 20;

    /// <summary>
    /// Before v1.63.0 CDI divided by (1 - overhead); CDI pull request 3779 ("Fix math in overhead
    /// size calculations") made it multiply by (1 + overhead), asking slightly less.
    /// </summary>
    public static readonly CdiVersion MultiplyingRelease = new(1, 63, 0);

    /// <summary>The bytes the PVC must have.</summary>
    /// <param name="release">The CDI release whose rule to apply; the current rule when null.</param>
    public static long Required(long virtualSize, PvcVolumeMode mode, double filesystemOverhead = DefaultFilesystemOverhead, CdiVersion? release = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(virtualSize);
        if (filesystemOverhead is < 0 or >= 1 || double.IsNaN(filesystemOverhead))
        {
            throw new ArgumentOutOfRangeException(nameof(filesystemOverhead), filesystemOverhead, "The filesystem overhead is a fraction from 0 up to (not including) 1, such as 0.06.");
        }

        if (mode == PvcVolumeMode.Block)
        {
            return virtualSize;
        }

        var aligned = (virtualSize + AlignBlockSize - 1) / AlignBlockSize * AlignBlockSize;
        return release is { } r && r < MultiplyingRelease
            ? (long)Math.Ceiling(aligned / (1 - filesystemOverhead))
            : (long)Math.Ceiling(aligned * (1 + filesystemOverhead));
    }

    /// <summary>
    /// A Kubernetes quantity of at least <paramref name="bytes"/> for a PVC request: exact in Gi or
    /// Mi when it divides evenly, else rounded up to whole Mi ("869Mi").
    /// </summary>
    public static string ToQuantity(long bytes) => ExactQuantity((bytes + (1 << 20) - 1) / (1 << 20) * (1 << 20));

    /// <summary>
    /// Exactly <paramref name="bytes"/> as a Kubernetes quantity, in the largest binary unit that
    /// divides it ("10Gi", "1536Mi", "1048577").
    /// </summary>
    public static string ExactQuantity(long bytes)
    {
        foreach (var (suffix, unit) in new[] { ("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10) })
        {
            if (bytes > 0 && bytes % unit == 0)
            {
                return (bytes / unit).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
