namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// A VHDX image's payload blocks as <see cref="RandomExtentReader"/> walks them: a fully present
/// block is data, every other state reads as zeros, and a replayed log is laid over what is read.
/// Past the end of the file reads as zeros, as in qemu: only the log puts data there, since the
/// BAT was checked against the file's length once the log extended it.
/// </summary>
internal sealed class VhdxPayloadMap(VhdxLayout layout, long fileLength) : IExtentMap
{
    public int ClusterSize => layout.BlockSize;

    public long DiskSize => layout.VirtualSize;

    public ImageError TruncatedError => ImageErrors.VhdxBlockBeyondEndOfFile;

    public string DataName => "a payload block";

    public DiskExtent Describe(long cluster)
    {
        var entry = layout.Blocks[cluster];
        if (VhdxLayout.State(entry) != VhdxBlockState.FullyPresent)
        {
            return DiskExtent.Zeros(1);
        }

        var offset = VhdxLayout.FileOffset(entry);
        var inFile = (int)Math.Clamp(fileLength - offset, 0, layout.BlockBytes(cluster));
        return DiskExtent.Data(offset, inFile) with { Patched = !layout.Overlay.IsEmpty };
    }

    public void Patch(in DiskExtent extent, long offset, Span<byte> disk) => layout.Overlay.Apply(extent.HostOffset + offset, disk);
}
