using System.Buffers.Binary;
using System.Text;
using CdiTools.Engine.Formats.Vhdx;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>Edits VHDX files in place for the refusal tests, keeping the CRC-32C of what they edit valid unless told not to.</summary>
internal static class VhdxImages
{
    public const int Header1 = 64 * 1024;
    public const int Header2 = 128 * 1024;
    public const int RegionTable1 = 192 * 1024;
    public const int RegionTable2 = 256 * 1024;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    public static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid LogicalSectorSize = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid ParentLocator = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    /// <summary>Changes <paramref name="length"/> bytes at <paramref name="offset"/>, then recomputes the checksum of the structure of <paramref name="checksummed"/> bytes at <paramref name="structure"/> (none when null).</summary>
    public static void Edit(string path, long offset, int length, Action<byte[]> change, long? structure = null, int checksummed = 0)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var bytes = ReadAt(file, offset, length);
        change(bytes);
        WriteAt(file, offset, bytes);
        if (structure is { } start)
        {
            var block = ReadAt(file, start, checksummed);
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(4), VhdxCrc32C.Compute(block, 4));
            WriteAt(file, start, block);
        }
    }

    /// <summary>Clears the log GUID of both headers, so nothing is replayed (the headers stay valid).</summary>
    public static void ClearLogGuids(string path)
    {
        foreach (var header in (int[])[Header1, Header2])
        {
            Edit(path, header + 48, 16, bytes => Array.Clear(bytes), header, 4096);
        }
    }

    /// <summary>The file offset and length of a region named in the first region table.</summary>
    public static (long Offset, long Length) Region(string path, Guid guid)
    {
        using var file = File.OpenRead(path);
        var table = ReadAt(file, RegionTable1, 64 * 1024);
        var count = BinaryPrimitives.ReadInt32LittleEndian(table.AsSpan(8));
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(16 + (i * 32), 32);
            if (new Guid(entry[..16]) == guid)
            {
                return ((long)BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]), BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]));
            }
        }

        throw new InvalidOperationException($"No region {guid}.");
    }

    /// <summary>The file offset of the region table entry for <paramref name="guid"/>.</summary>
    public static long RegionEntry(string path, Guid guid)
    {
        using var file = File.OpenRead(path);
        var table = ReadAt(file, RegionTable1, 64 * 1024);
        var count = BinaryPrimitives.ReadInt32LittleEndian(table.AsSpan(8));
        for (var i = 0; i < count; i++)
        {
            if (new Guid(table.AsSpan(16 + (i * 32), 16)) == guid)
            {
                return RegionTable1 + 16 + (i * 32);
            }
        }

        throw new InvalidOperationException($"No region {guid}.");
    }

    /// <summary>The file offset of a metadata item's data and the offset of its table entry.</summary>
    public static (long Item, long Entry) MetadataItem(string path, Guid guid)
    {
        var (metadata, _) = Region(path, MetadataRegion);
        using var file = File.OpenRead(path);
        var table = ReadAt(file, metadata, 64 * 1024);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(32 + (i * 32), 32);
            if (new Guid(entry[..16]) == guid)
            {
                return (metadata + BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]), metadata + 32 + (i * 32));
            }
        }

        throw new InvalidOperationException($"No metadata item {guid}.");
    }

    public static byte[] ReadAt(Stream file, long offset, int length)
    {
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        return bytes;
    }

    private static void WriteAt(Stream file, long offset, byte[] bytes)
    {
        file.Position = offset;
        file.Write(bytes);
    }

    // Turns the image into a differencing one: the has-parent bit, and a parent locator item
    // (MS-VHDX 2.6.2.6) with the parent's linkage GUID and relative path.
    public static void AddParentLocator(string image, string relativePath)
    {
        var (metadata, _) = Region(image, MetadataRegion);
        const int locatorAt = 128 << 10;
        var keys = new[] { "parent_linkage", "relative_path" };
        var values = new[] { Guid.NewGuid().ToString("B"), relativePath };
        var locator = new byte[1024];
        new Guid("B04AEFB7-D19E-4A81-B789-25B8E9445913").TryWriteBytes(locator);
        BinaryPrimitives.WriteUInt16LittleEndian(locator.AsSpan(18), (ushort)keys.Length);
        var text = 20 + (12 * keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            var key = Encoding.Unicode.GetBytes(keys[i]);
            var value = Encoding.Unicode.GetBytes(values[i]);
            var entry = locator.AsSpan(20 + (12 * i));
            BinaryPrimitives.WriteInt32LittleEndian(entry, text);
            key.CopyTo(locator, text);
            text += key.Length;
            BinaryPrimitives.WriteInt32LittleEndian(entry[4..], text);
            value.CopyTo(locator, text);
            text += value.Length;
            BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)key.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[10..], (ushort)value.Length);
        }

        Edit(image, metadata + locatorAt, locator.Length, bytes => locator.CopyTo(bytes));
        Edit(image, metadata, 64 << 10, table =>
        {
            var count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
            var entry = table.AsSpan(32 + (count * 32), 32);
            new Guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").TryWriteBytes(entry);
            BinaryPrimitives.WriteInt32LittleEndian(entry[16..], locatorAt);
            BinaryPrimitives.WriteInt32LittleEndian(entry[20..], locator.Length);
            BinaryPrimitives.WriteInt32LittleEndian(entry[24..], 4);
            BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(10), (ushort)(count + 1));
        });
        var (parameters, _) = MetadataItem(image, FileParameters);
        Edit(image, parameters + 4, 4, bytes => bytes[0] |= 2);
    }
}
