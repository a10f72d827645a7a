using CdiTools.Engine;

namespace CdiTools;

/// <summary>
/// What Import-CdiImage did with one image: layers, sizes, bytes read and written, space the
/// output takes, bytes kept in scratch, time and speed.
/// </summary>
/// <remarks>A view over the engine's result, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiImportResult
{
    private readonly ImportResult result;

    internal CdiImportResult(ImportResult result, string source, string destination)
    {
        this.result = result;
        Source = source;
        Destination = destination;
    }

    /// <summary>The image read: a path, or a URL without credentials or query.</summary>
    public string Source { get; }

    /// <summary>The raw disk written.</summary>
    public string Destination { get; }

    /// <summary>The layers from the outside in, such as "xz (liblzma 5.4.1)", "qcow2".</summary>
    public string[] FormatChain => [.. result.FormatChain];

    /// <summary>The layers in one line, "xz > qcow2": FormatChain for Export-Csv and tables.</summary>
    public string Layers => string.Join(" > ", result.FormatChain.Select(layer => layer.Split(' ', 2)[0]));

    /// <summary>What the conversion did that the reader should know, such as a fixed VHD's footer left out of the disk.</summary>
    public CdiTextList Notes => new(result.Notes);

    public long VirtualSize => result.VirtualSize;

    /// <summary>Bytes of the image read; less than its size when unallocated space was skipped.</summary>
    public long BytesRead => result.BytesRead;

    public long BytesWritten => result.BytesWritten;

    /// <summary>Bytes the raw disk occupies; holes take none.</summary>
    public long AllocatedBytes => result.AllocatedBytes;

    /// <summary>Bytes kept in a scratch file because they arrived before the metadata that maps them.</summary>
    public long ScratchBytes => result.ScratchBytes;

    /// <summary>The most disk data held at once because it arrived early.</summary>
    public long KeptBytes => result.KeptBytes;

    /// <summary>True when the image was read at random offsets, false when forward in one pass.</summary>
    public bool RandomAccess => result.RandomAccess;

    /// <summary>The whole conversion, until the disk was on stable storage.</summary>
    public TimeSpan Duration => result.Duration;

    /// <summary>Duration in seconds, for Export-Csv and arithmetic.</summary>
    public double Seconds => result.Duration.TotalSeconds;

    /// <summary>The part of <see cref="Duration"/> spent flushing the disk to stable storage before it took its name.</summary>
    public TimeSpan FlushDuration => result.FlushDuration;

    /// <summary>Bytes of the disk (its virtual size, holes included) per second, not bytes read or written.</summary>
    public double BytesPerSecond => result.Throughput;

    /// <summary>The checksum the image file was verified against, of the file as it is stored (sha256:HEX); null when -Checksum was not given.</summary>
    public string? VerifiedChecksum { get; init; }

    /// <summary>The tar member taken as the disk and why, when the image came in a tar.</summary>
    public string? TarMember => result.TarMember;

    /// <inheritdoc />
    public override string ToString() => Destination;
}
