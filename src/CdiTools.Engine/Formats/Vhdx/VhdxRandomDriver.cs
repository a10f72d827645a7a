using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// Converts a VHDX image it can read at any offset: its payload blocks, as
/// <see cref="VhdxPayloadMap"/> describes them, go through <see cref="RandomExtentReader"/>.
/// </summary>
internal sealed class VhdxRandomDriver : IImageDriver
{
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

    public void Convert(RawOutput output, CancellationToken cancellationToken) =>
        RandomExtentReader.Convert(source, new VhdxPayloadMap(layout, source.Length), output, cancellationToken);

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
