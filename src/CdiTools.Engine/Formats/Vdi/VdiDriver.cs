using System.Buffers.Binary;
using System.Runtime.InteropServices;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vdi;

/// <summary>
/// A VDI image (VirtualBox; qemu's "vdi"), static or dynamic: a header, a block map of
/// little-endian block numbers, and 1 MiB data blocks. As in qemu, map entries 0xffffffff (never
/// written) and 0xfffffffe (discarded) both read as zeros.
/// </summary>
internal sealed class VdiDriver : IImageDriver
{
    private static readonly BlockMapErrors Errors = new(ImageErrors.VdiOffsetBeyondEndOfFile, ImageErrors.VdiLayoutNotStreamable);

    // Entries from here up are absent: qemu's VDI_IS_ALLOCATED is "below VDI_DISCARDED".
    private const uint FirstAbsent = 0xfffffffe;

    private readonly BlockMapInput input;
    private readonly BlockMap map;

    private VdiDriver(BlockMapInput input, VdiHeader header, uint[] entries, long? fileLength)
    {
        this.input = input;
        Refusal = header.Refusal;
        map = new BlockMap(entries, VdiHeader.BlockSize, header.VirtualSize, header.DataOffset, VdiHeader.BlockSize, FirstAbsent, Errors);
        if (fileLength is { } length)
        {
            map.CheckInside(length);
        }

        Details = new ImageDetails
        {
            Format = "vdi",
            Subformat = header.IsStatic ? "static" : "dynamic",
            VirtualSize = header.VirtualSize,
            Version = 1,
            ClusterSize = VdiHeader.BlockSize,
            FileLength = fileLength,
        };
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal { get; }

    public long ScratchBytes => input.ScratchBytes;

    public long KeptBytes => input.KeptBytes;

    /// <summary>Reads the header and block map of <paramref name="layer"/>, at random or forward; the driver owns the layer from then on.</summary>
    public static VdiDriver Open(LayerInput layer, ImageOpenOptions options)
    {
        var input = BlockMapInput.Open(layer, Errors, options);
        try
        {
            var headerBytes = new byte[VdiHeader.Length];
            var header = VdiHeader.Parse(headerBytes.AsSpan(0, input.ReadMetadataAvailable(0, headerBytes, "the VDI header")));
            var entries = new uint[header.BlocksInImage];
            var mapBytes = MemoryMarshal.AsBytes(entries.AsSpan());
            if (input.Length is { } known && header.MapOffset + mapBytes.Length > known)
            {
                throw MapBeyondEnd(header, known);
            }

            input.ReadMetadata(header.MapOffset, mapBytes, "the VDI block map");
            ToHostOrder(entries);
            return new VdiDriver(input, header, entries, input.Length);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        input.Convert(map, output, cancellationToken);
    }

    public void Dispose() => input.Dispose();

    private static void ToHostOrder(uint[] entries)
    {
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(entries, entries);
        }
    }

    private static ImageException MapBeyondEnd(VdiHeader header, long length) =>
        new(ImageErrors.VdiOffsetBeyondEndOfFile, $"The VDI block map at 0x{header.MapOffset:X} ({header.BlocksInImage:N0} entries) runs past the end of the {length:N0}-byte image.", header.MapOffset);
}
