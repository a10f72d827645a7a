using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>What a recognised layer is to the engine.</summary>
internal enum LayerRole
{
    /// <summary>A compression or archive layer, peeled to reach the layer inside it.</summary>
    Wrapper,

    /// <summary>A disk format with a driver: the innermost layer, converted to the raw disk.</summary>
    Disk,

    /// <summary>A format qemu-img reads but CDI does not import: recognised only to refuse it, since
    /// taking it as raw would make a disk of its container bytes.</summary>
    Refused,
}

/// <summary>Tells a layer from its first <see cref="LayerFormats.HeadLength"/> bytes (fewer when the layer is shorter).</summary>
internal delegate bool HeadProbe(ReadOnlySpan<byte> head);

/// <summary>Tells a layer of <paramref name="length"/> bytes from its last 512, for formats whose only marker is at the end.</summary>
internal delegate bool TailProbe(ReadOnlySpan<byte> last512, long length);

/// <summary>
/// One layer format, registered once in <see cref="LayerFormats"/>: how its bytes are told, how it
/// is peeled or opened, and what file names say it. Every place that knows formats (detection,
/// opening, the support list, file-name rules) reads them from here, the way qemu's block layer
/// keeps one table of drivers.
/// </summary>
internal sealed class LayerFormat
{
    /// <summary>The name qemu-img gives the format ("vpc" for VHD), as the format chain shows it.</summary>
    public required string Name { get; init; }

    /// <summary>The name people and file extensions use, when it is not <see cref="Name"/> ("vhd").</summary>
    public string CommonName
    {
        get => field ?? Name;
        init;
    }

    public required LayerRole Role { get; init; }

    /// <summary>Extensions that claim this format in a file name, such as ".qcow2" and ".qcow".</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    /// <summary>The magic in the first bytes; null for a format told only by its end, or the raw fallback.</summary>
    public HeadProbe? Head { get; init; }

    /// <summary>The marker in the last 512 bytes, looked at only when no format's head matches and
    /// the end can be read before the data (a local file, or a range-capable server).</summary>
    public TailProbe? Tail { get; init; }

    /// <summary>For a wrapper: the layer inside it.</summary>
    public Func<LayerInput, ImageOpenOptions, PeeledLayer>? Peel { get; init; }

    /// <summary>For a disk format: its driver, reading at random when the input allows and forward otherwise.</summary>
    public Func<DiskOpening, IImageDriver>? Open { get; init; }

    public override string ToString() => Name;
}

/// <summary>What peeling a wrapper gives: the layer inside, how the format chain shows the wrapper,
/// and, for a tar, which member was taken as the disk and why.</summary>
internal sealed record PeeledLayer(LayerInput Inner, string ChainEntry, string? TarMember = null);

/// <summary>What a disk format's opener is given.</summary>
/// <param name="Input">The layer, at random or forward.</param>
/// <param name="Head">Its first bytes, as the probes saw them.</param>
/// <param name="Folder">The folder of the local file the layer is, for formats whose data lies in
/// files beside it; null behind a wrapper, a URL or a stream.</param>
/// <param name="Tail">The last 512 bytes when the format was told by them, and the layer's length.</param>
internal sealed record DiskOpening(LayerInput Input, byte[] Head, ImageOpenOptions Options, string? Folder, (byte[] Bytes, long Length)? Tail);
