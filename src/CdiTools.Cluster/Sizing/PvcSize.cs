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
    /// What a DataVolume asks for so that its PVC holds a disk of <paramref name="virtualSize"/>.
    /// The storage API's request is the disk's size: CDI grows a Filesystem request by the class's
    /// overhead itself when it renders the PVC (InflateSizeWithOverhead, in every release from
    /// v1.52.0 on), so asking for the PVC's size would count the overhead twice. The pvc API is
    /// taken as written, so it asks for the PVC's size (<see cref="Required"/>).
    /// </summary>
    public static long Request(long virtualSize, PvcVolumeMode mode, bool pvcApi, double filesystemOverhead = DefaultFilesystemOverhead, CdiVersion? release = null) =>
        pvcApi ? Required(virtualSize, mode, filesystemOverhead, release) : RoundUp(Math.Max(virtualSize, 1));

    /// <summary>
    /// The PVC CDI makes for a DataVolume's request of <paramref name="request"/> bytes: with the
    /// storage API a Filesystem request grows by the class's overhead; otherwise it is kept.
    /// (A StorageProfile's minimum size, which CDI also applies, is left out.)
    /// </summary>
    public static long Claim(long request, PvcVolumeMode mode, bool pvcApi, double filesystemOverhead = DefaultFilesystemOverhead, CdiVersion? release = null) =>
        pvcApi || mode == PvcVolumeMode.Block ? request : Required(request, PvcVolumeMode.Filesystem, filesystemOverhead, release);

    /// <summary>
    /// The scratch PVC CDI makes beside a claim of <paramref name="claim"/> bytes
    /// (pkg/controller/util.go createScratchPersistentVolumeClaim). It is always a Filesystem
    /// volume: since v1.61.0 (CDI pull request 3384, backported to v1.60.3, v1.59.2 and v1.58.5)
    /// CDI takes the usable space out of the claim with the claim's overhead
    /// (<paramref name="claimOverhead"/>, 0 for a Block claim) and adds the scratch class's
    /// (<paramref name="scratchOverhead"/>), each step aligned to 1 MiB, by the division rule
    /// before v1.63.0 and the multiplication rule since (pull request 3779); before that it
    /// copied the claim's size.
    /// </summary>
    public static long Scratch(long claim, double claimOverhead, double scratchOverhead, CdiVersion? release = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(claim);
        if (release is { } r && !GrowsScratch(r))
        {
            return claim;
        }

        if (release is { } old && old < MultiplyingRelease)
        {
            var usableBefore = RoundDown((long)Math.Ceiling((1 - claimOverhead) * claim));
            return RoundUp((long)Math.Ceiling(usableBefore / (1 - scratchOverhead)));
        }

        var usable = RoundDown((long)Math.Ceiling(claim / (1 + claimOverhead)));
        return RoundUp((long)Math.Ceiling(RoundUp(usable) * (1 + scratchOverhead)));
    }

    /// <summary>Whether <paramref name="release"/> sizes scratch space with both overheads (see <see cref="Scratch"/>).</summary>
    public static bool GrowsScratch(CdiVersion release) =>
        release >= new CdiVersion(1, 61, 0)
        || (release.Major, release.Minor) switch
        {
            (1, 60) => release.Patch >= 3,
            (1, 59) => release.Patch >= 2,
            (1, 58) => release.Patch >= 5,
            _ => false,
        };

    private static long RoundUp(long bytes) => (bytes + AlignBlockSize - 1) / AlignBlockSize * AlignBlockSize;

    private static long RoundDown(long bytes) => bytes / AlignBlockSize * AlignBlockSize;

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
