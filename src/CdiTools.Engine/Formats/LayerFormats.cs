using CdiTools.Engine.Formats.Qcow2;
using CdiTools.Engine.Formats.Raw;
using CdiTools.Engine.Formats.Vdi;
using CdiTools.Engine.Formats.Vhd;
using CdiTools.Engine.Formats.Vhdx;
using CdiTools.Engine.Formats.Vmdk;
using CdiTools.Engine.Layers.Gzip;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Layers.Xz;
using CdiTools.Engine.Layers.Zstd;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Every layer format the engine knows, each registered once: wrappers it peels, disk formats it
/// converts, and formats it recognises only to refuse. Adding a format is a folder with its driver
/// and registration, plus one line here.
/// </summary>
internal static class LayerFormats
{
    /// <summary>How many leading bytes the head probes are given.</summary>
    public const int HeadLength = 512;

    /// <summary>
    /// In the order the probes run, as CDI's importer sniffs them (pkg/image/filefmt.go): the
    /// compressions, the disk formats, tar, the refused ones; raw, which claims nothing, last.
    /// </summary>
    public static IReadOnlyList<LayerFormat> All { get; } =
    [
        GzipLayer.Registration,
        XzLayer.Registration,
        ZstdLayer.Registration,
        Qcow2Format.Registration,
        VmdkFormat.Registration,
        VhdFormat.Registration,
        VhdxFormat.Registration,
        VdiFormat.Registration,
        TarLayer.Registration,
        .. RefusedFormats.All,
        RawFormat.Registration,
    ];

    /// <summary>What a layer is when nothing claims it.</summary>
    public static LayerFormat Raw => RawFormat.Registration;

    /// <summary>An extension every format's files wear (cirros ships qcow2 as .img), so it claims none.</summary>
    public const string AnyFormatExtension = ".img";

    public static IEnumerable<LayerFormat> InRole(LayerRole role) => All.Where(format => format.Role == role);

    /// <summary>The format whose magic <paramref name="head"/> starts with; <see cref="Raw"/> when none.</summary>
    public static LayerFormat Detect(ReadOnlySpan<byte> head)
    {
        foreach (var format in All)
        {
            if (format.Head is { } probe && probe(head))
            {
                return format;
            }
        }

        return Raw;
    }

    /// <summary>The format told by the last 512 bytes of a layer of <paramref name="length"/> bytes; null when none.</summary>
    public static LayerFormat? DetectTail(ReadOnlySpan<byte> last512, long length)
    {
        foreach (var format in All)
        {
            if (format.Tail is { } probe && probe(last512, length))
            {
                return format;
            }
        }

        return null;
    }

    /// <summary>The format a format-chain entry names ("xz (liblzma 5.4.1)", "vpc"); null when none.</summary>
    public static LayerFormat? Named(string chainEntry)
    {
        var name = chainEntry.Split(' ', 2)[0];
        return All.FirstOrDefault(format => string.Equals(format.Name, name, StringComparison.OrdinalIgnoreCase));
    }
}
