using System.Buffers.Binary;
using System.Text;

namespace CdiTools.Engine.Formats.Vhd;

/// <summary>
/// The 512-byte VHD footer ("hard disk footer"): at the end of every VHD, and copied at offset 0 of
/// dynamic and differencing ones. Big-endian. It carries the disk type, the sizes, the CHS
/// geometry and the offset of the dynamic header.
/// </summary>
internal sealed record VhdFooter
{
    public const int Length = 512;

    public const uint FixedDisk = 2;
    public const uint DynamicDisk = 3;
    public const uint DifferencingDisk = 4;

    // qemu (block/vpc.c) refuses disks of more than 2040 GiB, VHD_MAX_SECTORS.
    private const long MaxSectors = 0xff000000;

    // The largest CHS geometry: a disk this size may be larger than CHS can say, so qemu then
    // trusts current_size whoever made the image.
    private const long MaxGeometrySectors = 65535L * 16 * 255;

    private const int ChecksumOffset = 64;

    public required string CreatorApplication { get; init; }

    public required uint DiskType { get; init; }

    public required ulong DataOffset { get; init; }

    public required long CurrentSize { get; init; }

    /// <summary>True when the disk's size is its CHS geometry rather than the current size.</summary>
    public required bool SizeFromGeometry { get; init; }

    /// <summary>The disk's size as qemu 7.2 reads it: see <see cref="TrustsCurrentSize"/>.</summary>
    public required long VirtualSize { get; init; }

    /// <summary>True when the footer's cookie and checksum are right, whatever its contents.</summary>
    public static bool IsValid(ReadOnlySpan<byte> footer) =>
        footer.Length >= Length && footer.StartsWith("conectix"u8) && StoredChecksum(footer) == Checksum(footer);

    public static VhdFooter Parse(ReadOnlySpan<byte> footer)
    {
        if (footer.Length < Length || !footer.StartsWith("conectix"u8))
        {
            throw new ImageException(ImageErrors.VhdBadCookie, "The VHD footer does not start with the cookie \"conectix\".", 0);
        }

        var stored = StoredChecksum(footer);
        var computed = Checksum(footer);
        if (stored != computed)
        {
            // qemu refuses these too ("Incorrect header checksum").
            throw new ImageException(ImageErrors.VhdFooterChecksumMismatch, $"The VHD footer's checksum is 0x{stored:X8} but its bytes sum to 0x{computed:X8}: the footer is damaged.", ChecksumOffset);
        }

        var creator = footer.Slice(28, 4);
        var currentSize = BinaryPrimitives.ReadUInt64BigEndian(footer[48..]);
        var geometry = (long)BinaryPrimitives.ReadUInt16BigEndian(footer[56..]) * footer[58] * footer[59];
        var fromGeometry = !TrustsCurrentSize(creator) && geometry != MaxGeometrySectors;
        var sectors = fromGeometry ? geometry : (long)Math.Min(currentSize / 512, long.MaxValue / 512);
        if (sectors > MaxSectors)
        {
            throw new ImageException(ImageErrors.VhdTooLarge, $"The VHD's disk is {sectors * 512:N0} bytes; like qemu, at most {MaxSectors * 512:N0} (2040 GiB) are read.", 48);
        }

        return new VhdFooter
        {
            CreatorApplication = Encoding.ASCII.GetString(creator).TrimEnd('\0'),
            DiskType = BinaryPrimitives.ReadUInt32BigEndian(footer[60..]),
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(footer[16..]),
            CurrentSize = (long)Math.Min(currentSize, long.MaxValue),
            SizeFromGeometry = fromGeometry,
            VirtualSize = sectors * 512,
        };
    }

    /// <summary>
    /// Virtual PC sizes a disk by its CHS geometry, which rounds down, while Hyper-V, Disk2VHD,
    /// XenServer, XenConverter and qemu's force_size ("qem2") use current_size. qemu 7.2 trusts
    /// current_size only for those creators; everything else, old qemu ("qemu") included, gets the
    /// geometry. Later qemu inverted the list (Azure's "wa"), so this is 7.2's rule, the oracle's.
    /// </summary>
    public static bool TrustsCurrentSize(ReadOnlySpan<byte> creator) =>
        creator.SequenceEqual("win "u8) || creator.SequenceEqual("qem2"u8) || creator.SequenceEqual("d2v "u8)
        || creator.SequenceEqual("CTXS"u8) || creator.SequenceEqual("tap\0"u8);

    /// <summary>The one's complement of the byte sum, the checksum field counted as zeros.</summary>
    public static uint Checksum(ReadOnlySpan<byte> structure, int checksumOffset = ChecksumOffset, int length = Length)
    {
        uint sum = 0;
        var bytes = structure[..length];
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
            {
                sum += bytes[i];
            }
        }

        return ~sum;
    }

    private static uint StoredChecksum(ReadOnlySpan<byte> footer) => BinaryPrimitives.ReadUInt32BigEndian(footer[ChecksumOffset..]);
}
