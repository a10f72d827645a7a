using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>
/// A <see cref="BlockMap"/> image's file, read at random or forward once: the VHD and VDI drivers
/// parse their headers and tables through it with the same code in both modes, and leave the
/// writing of the disk to it. Forward, metadata must lie ahead of what was read already.
/// </summary>
internal sealed class BlockMapInput : IDisposable
{
    private readonly IRandomAccessSource? source;
    private readonly BlockMapStreamReader? reader;
    private readonly BlockMapErrors errors;

    private BlockMapInput(IRandomAccessSource? source, BlockMapStreamReader? reader, long? length, BlockMapErrors errors)
    {
        this.source = source;
        this.reader = reader;
        this.errors = errors;
        Length = length;
    }

    /// <summary>The file's length when it is known before it is read (always, at random).</summary>
    public long? Length { get; }

    public long ScratchBytes => reader?.SpilledBytes ?? 0;

    public long KeptBytes => reader?.PeakHeldBytes ?? 0;

    /// <summary>The input of <paramref name="layer"/>, which it owns from then on.</summary>
    public static BlockMapInput Open(LayerInput layer, BlockMapErrors errors, ImageOpenOptions options) =>
        layer.Random is { } random
            ? new(random, null, random.Length, errors)
            : new(null, new BlockMapStreamReader(layer.Forward!, errors, options), layer.Length, errors);

    /// <summary>Reads a header or table at <paramref name="offset"/>; the file ending inside it is an error.</summary>
    public void ReadMetadata(long offset, Span<byte> destination, string what)
    {
        var read = ReadMetadataAvailable(offset, destination, what);
        if (read != destination.Length)
        {
            throw RandomAccessReads.EndsInside(errors.OffsetBeyondEndOfFile, what, offset, read, destination.Length);
        }
    }

    /// <summary>Reads what the file holds of a header or table at <paramref name="offset"/>, the rest left
    /// as zeros, as qemu reads past the end; returns how many bytes were in the file.</summary>
    public int ReadMetadataAvailable(long offset, Span<byte> destination, string what)
    {
        destination.Clear();

        // Past a known end there is nothing to read, and forward, skipping there would read the
        // whole input only to find it ends first.
        if (Length is { } length && offset >= length)
        {
            return 0;
        }

        return source is not null
            ? source.ReadAt(offset, destination)
            : reader!.ReadMetadataAvailable(offset, destination, what);
    }

    public void Convert(BlockMap map, RawOutput output, CancellationToken cancellationToken)
    {
        if (reader is not null)
        {
            reader.Convert(map, output, cancellationToken);
        }
        else
        {
            RandomExtentReader.Convert(source!, map, output, cancellationToken);
        }
    }

    public void Dispose()
    {
        reader?.Dispose();
        source?.Dispose();
    }
}
