using System.Buffers.Binary;

namespace CdiTools.Engine.Formats.Vdi;

/// <summary>
/// The VDI (VirtualBox) header, version 1.1, little-endian: its signature at 0x40, where the block
/// map and the data blocks start, the disk size and the block size. Checked as qemu 7.2's
/// vdi_open checks it, with a tighter limit on the block map.
/// </summary>
internal sealed record VdiHeader
{
    public const int Length = 512;

    public const uint Signature = 0xbeda107f;

    /// <summary>The only block size qemu reads (and the only one VirtualBox writes).</summary>
    public const int BlockSize = 1 << 20;

    /// <summary>The most blocks read: a 32 MiB map, an 8 TiB disk. qemu allows 2^30 (a 4 GiB map).</summary>
    public const uint MaxBlocks = 8u << 20;

    private const uint Version11 = 0x00010001;
    private const uint StaticImage = 2;

    public required uint ImageType { get; init; }

    public required long MapOffset { get; init; }

    public required long DataOffset { get; init; }

    public required long VirtualSize { get; init; }

    public required uint BlocksInImage { get; init; }

    /// <summary>Why the disk cannot be converted on its own (a link or a parent); null when it can.</summary>
    public ImageException? Refusal { get; init; }

    public bool IsStatic => ImageType == StaticImage;

    public static VdiHeader Parse(ReadOnlySpan<byte> header)
    {
        if (header.Length < Length)
        {
            throw new ImageException(ImageErrors.VdiOffsetBeyondEndOfFile, $"The image ends inside its VDI header: {header.Length} of {Length} bytes.", header.Length);
        }

        var signature = BinaryPrimitives.ReadUInt32LittleEndian(header[0x40..]);
        if (signature != Signature)
        {
            throw new ImageException(ImageErrors.VdiBadSignature, $"The VDI signature is 0x{signature:X8}, not 0x{Signature:X8}.", 0x40);
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[0x44..]);
        if (version != Version11)
        {
            throw new ImageException(ImageErrors.VdiUnsupportedVersion, $"The VDI header is version {version >> 16}.{version & 0xffff}; only 1.1 is read, as by qemu.", 0x44);
        }

        var mapOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[0x154..]);
        var dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[0x158..]);
        if (mapOffset % 512 != 0 || mapOffset < Length)
        {
            throw new ImageException(ImageErrors.VdiBadMapOffset, $"The VDI block map offset 0x{mapOffset:X} is not a multiple of 512 past the header.", 0x154);
        }

        if (dataOffset % 512 != 0)
        {
            throw new ImageException(ImageErrors.VdiBadDataOffset, $"The VDI data offset 0x{dataOffset:X} is not a multiple of 512.", 0x158);
        }

        var sectorSize = BinaryPrimitives.ReadUInt32LittleEndian(header[0x168..]);
        if (sectorSize != 512)
        {
            throw new ImageException(ImageErrors.VdiUnsupportedSectorSize, $"The VDI sector size is {sectorSize}; only 512 is read, as by qemu.", 0x168);
        }

        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(header[0x178..]);
        if (blockSize != BlockSize)
        {
            throw new ImageException(ImageErrors.VdiUnsupportedBlockSize, $"The VDI block size is {blockSize:N0}; only {BlockSize:N0} is read, as by qemu.", 0x178);
        }

        var blocks = BinaryPrimitives.ReadUInt32LittleEndian(header[0x180..]);
        if (blocks > MaxBlocks)
        {
            // Refused before anything is allocated for the map.
            throw new ImageException(ImageErrors.VdiTooManyBlocks, $"The VDI block map has {blocks:N0} entries; at most {MaxBlocks:N0} are read.", 0x180);
        }

        // 'VBoxManage convertfromraw' can write sizes that are not a multiple of 512; qemu rounds them up.
        var diskSize = BinaryPrimitives.ReadUInt64LittleEndian(header[0x170..]);
        if (diskSize > (ulong)blocks * BlockSize)
        {
            throw new ImageException(ImageErrors.VdiMapTooSmall, $"The VDI disk is {diskSize:N0} bytes but its block map covers only {(long)blocks * BlockSize:N0}.", 0x170);
        }

        // Refused when converting, not when opening, so such an image can still be described.
        var refusal = !IsZero(header.Slice(0x1a8, 16))
            ? new ImageException(ImageErrors.VdiLinkedImageNotSupported, "The VDI has a link UUID: it is not a whole disk on its own.", 0x1a8)
            : !IsZero(header.Slice(0x1b8, 16))
                ? new ImageException(ImageErrors.VdiDifferencingNotSupported, $"The VDI is a differencing image of the parent with UUID {new Guid(header.Slice(0x1b8, 16))}; merge it into its parent in VirtualBox first, then convert the result.", 0x1b8)
                : null;

        return new VdiHeader
        {
            ImageType = BinaryPrimitives.ReadUInt32LittleEndian(header[0x4c..]),
            MapOffset = mapOffset,
            DataOffset = dataOffset,
            VirtualSize = (long)((diskSize + 511) / 512 * 512),
            BlocksInImage = blocks,
            Refusal = refusal,
        };
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}
