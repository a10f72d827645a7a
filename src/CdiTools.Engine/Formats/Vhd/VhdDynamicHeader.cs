using System.Buffers.Binary;
using System.Text;

namespace CdiTools.Engine.Formats.Vhd;

/// <summary>
/// The 1024-byte dynamic disk header ("cxsparse") of dynamic and differencing VHDs: where the block
/// allocation table is, how many entries it has, the block size, and for a differencing disk the
/// parent's name. Big-endian.
/// </summary>
internal sealed record VhdDynamicHeader
{
    public const int Length = 1024;

    /// <summary>The most BAT entries read: 32 MiB of table, 16 TiB of disk at 2 MiB blocks. qemu
    /// allows up to 2^29 (2 GiB of table) and a fuzzed image asks for that much memory.</summary>
    public const uint MaxTableEntries = 8u << 20;

    /// <summary>The largest block taken: the VHD default is 2 MiB; a forward reader may have to keep whole blocks.</summary>
    public const int MaxBlockSize = 32 << 20;

    private const int ChecksumOffset = 36;

    public required long TableOffset { get; init; }

    public required uint TableEntries { get; init; }

    public required int BlockSize { get; init; }

    /// <summary>The sector bitmap before each block's data, sized as qemu sizes it.</summary>
    public required int BitmapSize { get; init; }

    public required string ParentName { get; init; }

    /// <param name="offset">Where the header lies in the file, for error messages.</param>
    /// <param name="virtualSize">The disk's size from the footer, which the table must cover.</param>
    public static VhdDynamicHeader Parse(ReadOnlySpan<byte> header, long offset, long virtualSize)
    {
        if (!header.StartsWith("cxsparse"u8))
        {
            throw new ImageException(ImageErrors.VhdBadHeaderCookie, "The VHD's dynamic header does not start with the cookie \"cxsparse\".", offset);
        }

        var blockSize = BinaryPrimitives.ReadUInt32BigEndian(header[32..]);
        if (blockSize < 512 || blockSize > MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ImageException(ImageErrors.VhdBlockSizeOutOfRange, $"The VHD's block size {blockSize:N0} is not a power of two from 512 to {MaxBlockSize:N0} bytes.", offset + 32);
        }

        var entries = BinaryPrimitives.ReadUInt32BigEndian(header[28..]);
        if (entries > MaxTableEntries)
        {
            // Refused before anything is allocated for the table.
            throw new ImageException(ImageErrors.VhdTableTooLarge, $"The VHD's block allocation table has {entries:N0} entries; at most {MaxTableEntries:N0} are read.", offset + 28);
        }

        if ((long)entries * blockSize < virtualSize)
        {
            throw new ImageException(ImageErrors.VhdTableTooSmall, $"The VHD's block allocation table ({entries:N0} blocks of {blockSize:N0} bytes) does not cover its {virtualSize:N0}-byte disk.", offset + 28);
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(header[ChecksumOffset..]);
        var computed = VhdFooter.Checksum(header, ChecksumOffset, Length);
        if (stored != computed)
        {
            // qemu does not check this one; every writer we know of sets it, and a wrong one means damage.
            throw new ImageException(ImageErrors.VhdHeaderChecksumMismatch, $"The VHD's dynamic header checksum is 0x{stored:X8} but its bytes sum to 0x{computed:X8}: the header is damaged.", offset + ChecksumOffset);
        }

        var tableOffset = BinaryPrimitives.ReadUInt64BigEndian(header[16..]);
        return new VhdDynamicHeader
        {
            TableOffset = tableOffset > long.MaxValue / 2 ? long.MaxValue / 2 : (long)tableOffset,
            TableEntries = entries,
            BlockSize = (int)blockSize,
            BitmapSize = (int)(((blockSize / (8 * 512)) + 511) & ~511u),
            ParentName = ReadParentName(header.Slice(64, 512)),
        };
    }

    // The parent's file name, UTF-16 big-endian, NUL-padded.
    private static string ReadParentName(ReadOnlySpan<byte> field)
    {
        var name = Encoding.BigEndianUnicode.GetString(field);
        var end = name.IndexOf('\0', StringComparison.Ordinal);
        return end < 0 ? name : name[..end];
    }
}
