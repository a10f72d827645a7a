using CdiTools.Engine.Formats;

namespace CdiTools.Engine;

/// <summary>
/// What the engine converts on the client: the disk formats it has drivers for, the wrappers it
/// peels and the places it reads from. Every format here converts in one pass, from a random-access
/// source or forward-only behind a wrapper, and keeps no scratch copy for the layouts qemu-img and
/// the hypervisors write; a test holds each entry to that.
/// </summary>
public static class EngineSupport
{
    /// <summary>Disk formats with a driver, named as qemu-img names them (vpc is VHD).</summary>
    public static IReadOnlyList<string> DiskFormats { get; } = [.. LayerFormats.InRole(LayerRole.Disk).Select(format => format.Name)];

    /// <summary>Wrappers peeled in any nesting; tar is searched for the disk member.</summary>
    public static IReadOnlyList<string> Wrappers { get; } = [.. LayerFormats.InRole(LayerRole.Wrapper).Select(format => format.Name)];

    /// <summary>URI schemes <c>-Uri</c> reads from, besides local paths.</summary>
    public static IReadOnlyList<string> UriSchemes { get; } = ["http", "https", "docker", "oci-archive"];

    /// <summary>Scratch bytes a conversion of a format above keeps on the client when the image's
    /// data follows the metadata that maps it, as qemu-img and the hypervisors write it. Images
    /// rewritten out of order (snapshots, commits) may spill; the import result reports it.</summary>
    public const long ScratchBytesForOrderedImages = 0;

    /// <summary>Whether the engine converts <paramref name="format"/> (a qemu-img format name).</summary>
    public static bool Converts(string format) => DiskFormats.Contains(format, StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether <c>-Uri</c> reads from <paramref name="scheme"/>.</summary>
    public static bool Reads(string scheme) => UriSchemes.Contains(scheme, StringComparer.OrdinalIgnoreCase);
}
