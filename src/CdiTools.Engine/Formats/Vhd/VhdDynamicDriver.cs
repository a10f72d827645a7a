using System.Buffers.Binary;
using System.Runtime.InteropServices;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vhd;

/// <summary>
/// A dynamic VHD (qemu's "vpc"): a footer copy at 0, a dynamic header, a block allocation table,
/// and blocks that are each a sector bitmap followed by the data. An absent block reads as zeros.
/// Like qemu 7.2, a present block is read whole and its sector bitmap is not consulted (qemu sets
/// every bit when it writes): honouring a clear bit over non-zero bytes would make the disk differ
/// from qemu-img's. Differencing VHDs are refused, naming the parent.
/// </summary>
internal sealed class VhdDynamicDriver : IImageDriver
{
    private static readonly BlockMapErrors Errors = new(ImageErrors.VhdOffsetBeyondEndOfFile, ImageErrors.VhdLayoutNotStreamable);

    private readonly BlockMapInput input;
    private readonly VhdFooter footer;
    private readonly VhdDynamicHeader header;
    private readonly BlockMap map;

    private VhdDynamicDriver(BlockMapInput input, VhdFooter footer, VhdDynamicHeader header, uint[] table, long? fileLength)
    {
        this.input = input;
        this.footer = footer;
        this.header = header;
        map = new BlockMap(table, header.BlockSize, footer.VirtualSize, header.BitmapSize, 512, uint.MaxValue, Errors);
        if (fileLength is { } length)
        {
            CheckBlocksInside(table, length);
        }

        Details = new ImageDetails
        {
            Format = "vpc",
            Subformat = footer.DiskType == VhdFooter.DifferencingDisk ? "differencing" : "dynamic",
            VirtualSize = footer.VirtualSize,
            ClusterSize = header.BlockSize,
            BackingFile = footer.DiskType == VhdFooter.DifferencingDisk ? header.ParentName : null,
            FileLength = fileLength,
            Notes = [$"created by \"{footer.CreatorApplication}\": the disk size comes from the {(footer.SizeFromGeometry ? "CHS geometry" : "current size")}, as qemu-img 7.2 reads it"],
        };
    }

    public ImageDetails Details { get; }

    public long ScratchBytes => input.ScratchBytes;

    public long KeptBytes => input.KeptBytes;

    /// <summary>Reads the footer copy, dynamic header and table of <paramref name="layer"/>, at random or forward; the driver owns the layer from then on.</summary>
    public static VhdDynamicDriver Open(LayerInput layer, ImageOpenOptions options)
    {
        var input = BlockMapInput.Open(layer, Errors, options);
        try
        {
            var footerBytes = new byte[VhdFooter.Length];
            input.ReadMetadata(0, footerBytes, "the footer copy");
            var footer = ParseFooter(footerBytes);
            var headerOffset = HeaderOffset(footer);
            var headerBytes = new byte[VhdDynamicHeader.Length];
            var headerRead = input.ReadMetadataAvailable(headerOffset, headerBytes, "the dynamic header");
            if (headerRead == 0)
            {
                throw new ImageException(ImageErrors.VhdOffsetBeyondEndOfFile, $"The VHD's dynamic header offset 0x{headerOffset:X} lies past the end of the image.", 16);
            }

            // A header cut off by the end of the file is still parsed (the rest as zeros, as qemu
            // reads it) so that an absurd table size is reported as such, as qemu reports it.
            var header = VhdDynamicHeader.Parse(headerBytes, headerOffset, footer.VirtualSize);
            if (headerRead < headerBytes.Length)
            {
                throw RandomAccessReads.EndsInside(ImageErrors.VhdOffsetBeyondEndOfFile, "the dynamic header", headerOffset, headerRead, headerBytes.Length);
            }

            if (input.Length is { } known)
            {
                CheckTableInside(header, known);
            }

            var table = new uint[header.TableEntries];
            input.ReadMetadata(header.TableOffset, MemoryMarshal.AsBytes(table.AsSpan()), "the block allocation table");
            ToHostOrder(table);
            return new VhdDynamicDriver(input, footer, header, table, input.Length);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    public ImageException? Refusal =>
        footer.DiskType == VhdFooter.DifferencingDisk
            // qemu converts these silently without the parent's data; that disk is not the one the user has.
            ? new ImageException(ImageErrors.VhdDifferencingNotSupported,
                $"The VHD is a differencing disk whose parent is \"{header.ParentName}\"; merge it into its parent first (for example with Hyper-V's Merge-VHD), then convert the result.")
            : null;

    public void Convert(RawOutput output, CancellationToken cancellationToken) => input.Convert(map, output, cancellationToken);

    public void Dispose() => input.Dispose();

    // The table was read straight into the array; its entries are big-endian.
    private static void ToHostOrder(uint[] table)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(table, table);
        }
    }

    private static VhdFooter ParseFooter(byte[] bytes)
    {
        var footer = VhdFooter.Parse(bytes);
        if (footer.DiskType is not (VhdFooter.DynamicDisk or VhdFooter.DifferencingDisk))
        {
            throw new ImageException(ImageErrors.VhdUnsupportedDiskType, $"The VHD's footer copy at offset 0 says disk type {footer.DiskType}; only dynamic (3) and differencing (4) disks have one.", 60);
        }

        return footer;
    }

    private static long HeaderOffset(VhdFooter footer)
    {
        if (footer.DataOffset > long.MaxValue - VhdDynamicHeader.Length)
        {
            throw new ImageException(ImageErrors.VhdOffsetBeyondEndOfFile, $"The VHD's dynamic header offset 0x{footer.DataOffset:X} lies past the end of the image.", 16);
        }

        return (long)footer.DataOffset;
    }

    private static void CheckTableInside(VhdDynamicHeader header, long length)
    {
        if (header.TableOffset + (header.TableEntries * 4L) > length)
        {
            throw new ImageException(ImageErrors.VhdOffsetBeyondEndOfFile, $"The VHD's block allocation table at 0x{header.TableOffset:X} ({header.TableEntries:N0} entries) runs past the end of the {length:N0}-byte image.", header.TableOffset);
        }
    }

    // As qemu does when it opens the image: every table entry, not only the ones the disk needs,
    // must leave room for its bitmap and whole block ("free_data_block_offset points after the end
    // of file"). qemu would otherwise read zeros past the end of a truncated image.
    private void CheckBlocksInside(uint[] table, long length)
    {
        for (var i = 0; i < table.Length; i++)
        {
            if (table[i] != uint.MaxValue && (table[i] * 512L) + header.BitmapSize + header.BlockSize > length)
            {
                throw new ImageException(ImageErrors.VhdOffsetBeyondEndOfFile,
                    $"Block {i:N0} of the VHD lies at 0x{table[i] * 512L:X}, past the end of the {length:N0}-byte image: it is truncated or damaged.",
                    table[i] * 512L);
            }
        }
    }
}
