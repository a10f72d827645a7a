using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Where a <see cref="BlockMap"/> disk's blocks come from: a random-access source, or a forward
/// reader that has already consumed the metadata. The VHD and VDI drivers hold one and leave the
/// writing of the disk to it.
/// </summary>
internal sealed class BlockMapInput : IDisposable
{
    private readonly IRandomAccessSource? source;
    private readonly BlockMapStreamReader? reader;

    private BlockMapInput(IRandomAccessSource? source, BlockMapStreamReader? reader)
    {
        this.source = source;
        this.reader = reader;
    }

    public long ScratchBytes => reader?.SpilledBytes ?? 0;

    public long KeptBytes => reader?.PeakHeldBytes ?? 0;

    public static BlockMapInput Random(IRandomAccessSource source) => new(source, null);

    public static BlockMapInput Forward(BlockMapStreamReader reader) => new(null, reader);

    public void Convert(BlockMap map, RawOutput output, CancellationToken cancellationToken)
    {
        if (reader is not null)
        {
            reader.Convert(map, output, cancellationToken);
        }
        else
        {
            BlockMapRandomReader.Convert(source!, map, output, cancellationToken);
        }
    }

    public void Dispose()
    {
        reader?.Dispose();
        source?.Dispose();
    }
}
