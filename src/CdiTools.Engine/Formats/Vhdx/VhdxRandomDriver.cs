using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// Converts a VHDX image it can read at any offset: walks the BAT in guest order, reads present
/// blocks a piece at a time straight into the output, lays the replayed log over them, and
/// announces blocks in every other state as zeros without reading them.
/// </summary>
internal sealed class VhdxRandomDriver : IImageDriver
{
    private const int Piece = VhdxLayout.Mebibyte;

    private readonly IRandomAccessSource source;
    private readonly VhdxLayout layout;

    public VhdxRandomDriver(IRandomAccessSource source)
    {
        this.source = source;
        layout = VhdxLayout.Read(new RandomFile(source));
    }

    public ImageDetails Details => layout.Details;

    public ImageException? Refusal => layout.Refusal;

    internal VhdxLayout Layout => layout;

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        for (long block = 0; block < layout.BlockCount; block++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entry = layout.Blocks[block];
            var bytes = layout.BlockBytes(block);
            if (VhdxLayout.State(entry) != VhdxBlockState.FullyPresent)
            {
                output.WriteZeros(bytes);
                continue;
            }

            var fileOffset = VhdxLayout.FileOffset(entry);
            for (var done = 0; done < bytes;)
            {
                var count = Math.Min(Piece, bytes - done);
                var span = output.GetSpan(count)[..count];
                // A random-access source reads short only at its end.
                var read = source.ReadAt(fileOffset + done, span);

                // Past the end of the file reads as zeros, as in qemu; only a replayed log puts
                // data there, since the BAT was checked against the file's length.
                span[read..].Clear();
                layout.Overlay.Apply(fileOffset + done, span);
                output.Advance(count);
                done += count;
            }
        }
    }

    public void Dispose() => source.Dispose();

    private sealed class RandomFile(IRandomAccessSource source) : IVhdxFile
    {
        public long? Length => source.Length;

        public (byte[] Data, int Available) ReadRegion(long offset, int length)
        {
            var data = new byte[length];
            return (data, source.ReadAt(offset, data));
        }

        public void Announce(long offset, long length, bool willRead)
        {
        }
    }
}
