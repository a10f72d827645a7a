using System.Text;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>
/// Reads a tar archive's headers (ustar, GNU long names, pax extended headers, GNU sparse in its old
/// and three PAX forms) and tells where each member's data lies.
/// </summary>
/// <remarks>
/// This is hand-written rather than built on System.Formats.Tar's TarReader because, as of .NET 10,
/// TarReader cannot walk the archives this layer must take: it throws NotSupportedException on a
/// GNU sparse ('S') entry and InvalidDataException on a PAX 0.0 sparse header (its repeated
/// GNU.sparse.offset records count as duplicate attributes), and either ends the walk of the whole
/// archive, with no way to step over the entry. Where it does read an entry (ustar, GNU long names,
/// pax, PAX 0.1 and 1.0 sparse) it hands back the stored bytes unexpanded and does not expose the
/// sparse map of 'S' headers, so the sparse work would be ours anyway. The tests check this reader
/// against TarReader on the archives TarReader can read.
/// </remarks>
internal sealed class TarHeaderReader(TarCursor cursor)
{
    public const int BlockSize = 512;

    // Bounds on metadata read whole into memory: a name, and a pax header (a PAX 0.0 map of a very
    // fragmented image takes a few tens of bytes per island).
    private const int MaxLongNameBytes = 1 << 20;
    private const int MaxPaxHeaderBytes = 64 << 20;

    private readonly byte[] block = new byte[BlockSize];

    public TarCursor Cursor => cursor;

    public static long PadToBlock(long size) => size + ((BlockSize - (size % BlockSize)) % BlockSize);

    /// <summary>
    /// Reads the next entry's headers, leaving the cursor at its data. Returns null at the
    /// end-of-archive block. The caller moves the cursor to <see cref="TarMember.NextHeaderOffset"/>
    /// (see <see cref="SkipData"/>) before asking for the next entry.
    /// </summary>
    public TarMember? Next()
    {
        string? longName = null;
        PaxAttributes? pax = null;
        long? entryOffset = null;
        while (true)
        {
            var headerOffset = cursor.Position;
            var read = cursor.ReadFull(block);
            if (read < BlockSize)
            {
                throw (read, entryOffset) switch
                {
                    (0, null) => Truncated("ends without its end-of-archive blocks, so it was cut short", headerOffset),
                    (0, _) => Truncated("ends after an extended header, before the entry it describes", headerOffset),
                    _ => Truncated("ends inside a header", headerOffset),
                };
            }

            if (!block.AsSpan().ContainsAnyExcept((byte)0))
            {
                if (entryOffset is not null)
                {
                    throw new ImageException(ImageErrors.TarCorrupt, "The tar archive has an extended header (pax or GNU long name) that describes no entry.", entryOffset);
                }

                return null;
            }

            VerifyChecksum(headerOffset);
            entryOffset ??= headerOffset;
            var type = (char)block[156];
            var size = ReadNumber(124, 12, "size", headerOffset);
            switch (type)
            {
                case 'L':
                    longName = DecodeName(ReadMetadata(size, MaxLongNameBytes, "GNU long name", headerOffset));
                    continue;
                case 'x':
                    pax = PaxAttributes.Parse(ReadMetadata(size, MaxPaxHeaderBytes, "pax header", headerOffset), pax, headerOffset);
                    continue;
                case 'K' or 'g':
                    // A long link target never names a disk; global pax records carry defaults such as
                    // times and owners, which change neither which member is the disk nor its bytes.
                    SkipMetadata(size, headerOffset);
                    continue;
                default:
                    return Member(type, size, entryOffset.Value, headerOffset, longName, pax);
            }
        }
    }

    /// <summary>Moves past <paramref name="member"/>'s data and padding to the next header.</summary>
    public void SkipData(TarMember member)
    {
        if (!cursor.SkipTo(member.NextHeaderOffset))
        {
            throw Truncated($"ends inside the data of member '{TarDiskRules.Printable(member.Name)}', which runs to offset {member.NextHeaderOffset:N0}", cursor.Position);
        }
    }

    /// <summary>
    /// Reads a PAX 1.0 member's map, text at the start of its data ("count\n" then "offset\nlength\n"
    /// per island, padded to a block), with the cursor at <see cref="TarMember.DataOffset"/>; returns
    /// the member with its data starting after the map.
    /// </summary>
    public TarMember ReadPax10Map(TarMember member)
    {
        long? count = null;
        var numbers = new List<long>();
        long mapBytes = 0;
        long value = 0;
        var digits = 0;
        while (count is null || numbers.Count < count * 2)
        {
            if (mapBytes + BlockSize > member.StoredSize)
            {
                throw TarSparseMap.Corrupt(member.Name, "has a PAX 1.0 sparse map that runs past its data", member.HeaderOffset);
            }

            if (cursor.ReadFull(block) < BlockSize)
            {
                throw Truncated($"ends inside the sparse map of member '{TarDiskRules.Printable(member.Name)}'", cursor.Position);
            }

            mapBytes += BlockSize;
            foreach (var b in block)
            {
                if (count is not null && numbers.Count == count * 2)
                {
                    break;
                }

                if (b == '\n' && digits > 0)
                {
                    if (count is null)
                    {
                        count = value <= TarSparseMap.MaxSegments
                            ? value
                            : throw TarSparseMap.Corrupt(member.Name, $"has a PAX 1.0 sparse map of {value:N0} islands, more than the {TarSparseMap.MaxSegments:N0} accepted", member.HeaderOffset);
                    }
                    else
                    {
                        numbers.Add(value);
                    }

                    value = 0;
                    digits = 0;
                }
                else if (b is >= (byte)'0' and <= (byte)'9' && digits < 18)
                {
                    value = (value * 10) + (b - '0');
                    digits++;
                }
                else
                {
                    throw TarSparseMap.Corrupt(member.Name, "has a PAX 1.0 sparse map that is not lines of decimal numbers", member.HeaderOffset);
                }
            }
        }

        var pairs = new List<(long, long)>(numbers.Count / 2);
        for (var i = 0; i < numbers.Count; i += 2)
        {
            pairs.Add((numbers[i], numbers[i + 1]));
        }

        var map = TarSparseMap.Create(pairs, member.RealSize, member.StoredSize - mapBytes, member.Name, member.HeaderOffset);
        return member with { DataOffset = member.DataOffset + mapBytes, StoredSize = member.StoredSize - mapBytes, Map = map };
    }

    internal static bool TryParseDecimal(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 18)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    private TarMember Member(char type, long headerSize, long entryOffset, long headerOffset, string? longName, PaxAttributes? pax)
    {
        var magic = block.AsSpan(257, 8);
        var posix = magic.StartsWith("ustar\0"u8);
        var name = pax?.Path ?? longName ?? HeaderName(posix);
        var storedSize = pax?.Size ?? headerSize;

        // POSIX stores no data for links, devices, directories and fifos, whatever the size field says.
        if (type is '1' or '2' or '3' or '4' or '5' or '6')
        {
            storedSize = 0;
        }

        var regular = type is '0' or '\0' or '7' or 'S' && !name.EndsWith('/');
        var format = TarSparseFormat.None;
        TarSparseMap? map = null;
        var realSize = storedSize;
        if (type == 'S')
        {
            format = TarSparseFormat.OldGnu;
            map = ReadOldGnuMap(name, storedSize, entryOffset, headerOffset);
            realSize = map.RealSize;
        }
        else if (regular && pax is { IsSparse: true })
        {
            name = pax.SparseName ?? name;
            (format, map, realSize) = PaxSparse(pax, name, storedSize, entryOffset);
        }

        return new TarMember(Normalize(name), type, regular, entryOffset, cursor.Position, storedSize, realSize, format, map);
    }

    private static (TarSparseFormat, TarSparseMap?, long) PaxSparse(PaxAttributes pax, string name, long storedSize, long offset)
    {
        var realSize = pax.SparseRealSize ?? throw TarSparseMap.Corrupt(name, "has a PAX sparse header without its real size", offset);
        switch (pax.SparseMajor, pax.SparseMinor)
        {
            case (1, 0):
                return (TarSparseFormat.Pax10, null, realSize);
            case (null, null) or (0, 0) or (0, 1):
                break;
            default:
                throw new ImageException(ImageErrors.TarSparseVersionUnsupported, $"The tar member '{TarDiskRules.Printable(name)}' is stored in GNU sparse format {pax.SparseMajor}.{pax.SparseMinor}; 0.0, 0.1 and 1.0 are read.", offset);
        }

        List<(long, long)> pairs;
        TarSparseFormat format;
        if (pax.SparseMap is not null)
        {
            format = TarSparseFormat.Pax01;
            pairs = TarSparseMap.ParsePairs(pax.SparseMap, name, offset);
        }
        else
        {
            format = TarSparseFormat.Pax00;
            if (pax.SparseOffsets.Count != pax.SparseLengths.Count)
            {
                throw TarSparseMap.Corrupt(name, "has unpaired GNU.sparse.offset and GNU.sparse.numbytes records", offset);
            }

            pairs = [.. pax.SparseOffsets.Zip(pax.SparseLengths)];
        }

        if (pax.SparseBlocks is { } blocks && blocks != pairs.Count)
        {
            throw TarSparseMap.Corrupt(name, $"says GNU.sparse.numblocks={blocks} but maps {pairs.Count} islands", offset);
        }

        return (format, TarSparseMap.Create(pairs, realSize, storedSize, name, offset), realSize);
    }

    /// <summary>
    /// Reads the old GNU map: four islands in the header, then, while its "extended" flag is set,
    /// extension blocks of 21 islands each, which sit between the header and the data.
    /// </summary>
    private TarSparseMap ReadOldGnuMap(string name, long storedSize, long entryOffset, long headerOffset)
    {
        var pairs = new List<(long, long)>();
        var realSize = ReadNumber(483, 12, "sparse real size", headerOffset);
        var more = ReadIslands(386, 4, pairs, headerOffset) && block[482] != 0;
        while (more)
        {
            var extensionOffset = cursor.Position;
            if (cursor.ReadFull(block) < BlockSize)
            {
                throw Truncated($"ends inside the sparse map of member '{TarDiskRules.Printable(name)}'", extensionOffset);
            }

            if (pairs.Count > TarSparseMap.MaxSegments)
            {
                throw TarSparseMap.Corrupt(name, $"has more than {TarSparseMap.MaxSegments:N0} sparse islands", entryOffset);
            }

            more = ReadIslands(0, 21, pairs, extensionOffset) && block[504] != 0;
        }

        // Old GNU tar left the real size out; the map's last island then ends the file.
        if (realSize == 0 && pairs.Count > 0)
        {
            realSize = pairs[^1].Item1 + pairs[^1].Item2;
        }

        return TarSparseMap.Create(pairs, realSize, storedSize, name, entryOffset);
    }

    /// <summary>Reads up to <paramref name="count"/> (offset, length) fields; false when an empty one ends the map early.</summary>
    private bool ReadIslands(int start, int count, List<(long, long)> pairs, long blockOffset)
    {
        for (var i = 0; i < count; i++)
        {
            var at = start + (i * 24);
            if (block[at] == 0)
            {
                return false;
            }

            pairs.Add((ReadNumber(at, 12, "sparse offset", blockOffset), ReadNumber(at + 12, 12, "sparse length", blockOffset)));
        }

        return true;
    }

    private string HeaderName(bool posix)
    {
        var name = DecodeName(block.AsSpan(0, 100));
        if (posix)
        {
            var prefix = DecodeName(block.AsSpan(345, 155));
            if (prefix.Length > 0)
            {
                return prefix + "/" + name;
            }
        }

        return name;
    }

    private static string DecodeName(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static string Normalize(string name)
    {
        while (true)
        {
            if (name.StartsWith("./", StringComparison.Ordinal))
            {
                name = name[2..];
            }
            else if (name.StartsWith('/'))
            {
                name = name[1..];
            }
            else
            {
                return name;
            }
        }
    }

    private byte[] ReadMetadata(long size, int limit, string what, long headerOffset)
    {
        if (size > limit)
        {
            throw new ImageException(ImageErrors.TarCorrupt, $"The tar archive has a {what} of {size:N0} bytes, more than the {limit:N0} accepted.", headerOffset);
        }

        var data = new byte[size];
        if (cursor.ReadFull(data) < size || !cursor.SkipTo(cursor.Position + PadToBlock(size) - size))
        {
            throw Truncated($"ends inside a {what}", headerOffset);
        }

        return data;
    }

    private void SkipMetadata(long size, long headerOffset)
    {
        if (!cursor.SkipTo(cursor.Position + PadToBlock(size)))
        {
            throw Truncated("ends inside an extended header", headerOffset);
        }
    }

    private void VerifyChecksum(long headerOffset)
    {
        var stored = ReadNumber(148, 8, "checksum", headerOffset);

        // The checksum field counts as eight spaces. Some old tars summed signed bytes; accept either.
        long unsigned = 8 * ' ', signed = 8 * ' ';
        for (var i = 0; i < BlockSize; i++)
        {
            if (i is < 148 or >= 156)
            {
                unsigned += block[i];
                signed += (sbyte)block[i];
            }
        }

        if (stored != unsigned && stored != signed)
        {
            throw new ImageException(ImageErrors.TarCorrupt, $"A tar header's checksum does not match (stored {stored}, computed {unsigned}): the archive is damaged or not a tar.", headerOffset);
        }
    }

    /// <summary>
    /// A numeric header field: octal digits, optionally padded with spaces or NULs, or GNU's base-256
    /// form (high bit of the first byte set) for values too large for octal.
    /// </summary>
    private long ReadNumber(int start, int length, string what, long headerOffset)
    {
        var field = block.AsSpan(start, length);
        long value = 0;
        if ((field[0] & 0x80) != 0)
        {
            if (field[0] != 0x80)
            {
                throw BadNumber(what, headerOffset);
            }

            foreach (var b in field[1..])
            {
                if (value > (long.MaxValue >> 8))
                {
                    throw BadNumber(what, headerOffset);
                }

                value = (value << 8) | b;
            }

            return value;
        }

        var i = 0;
        while (i < field.Length && field[i] == ' ')
        {
            i++;
        }

        for (; i < field.Length && field[i] is not (0 or (byte)' '); i++)
        {
            if (field[i] is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                throw BadNumber(what, headerOffset);
            }

            value = (value << 3) | (long)(field[i] - '0');
        }

        return value;
    }

    private static ImageException BadNumber(string what, long headerOffset) =>
        new(ImageErrors.TarCorrupt, $"A tar header's {what} field is not a valid number: the archive is damaged or not a tar.", headerOffset);

    private static ImageException Truncated(string what, long offset) =>
        new(ImageErrors.TarTruncated, $"The tar archive {what}.", offset);

    /// <summary>The pax records that matter here; the rest (times, owners, ...) are read past.</summary>
    private sealed class PaxAttributes
    {
        public string? Path { get; private set; }

        public long? Size { get; private set; }

        public string? SparseName { get; private set; }

        public long? SparseRealSize { get; private set; }

        public long? SparseMajor { get; private set; }

        public long? SparseMinor { get; private set; }

        public long? SparseBlocks { get; private set; }

        public string? SparseMap { get; private set; }

        public List<long> SparseOffsets { get; } = [];

        public List<long> SparseLengths { get; } = [];

        public bool IsSparse => SparseRealSize is not null || SparseMajor is not null || SparseMap is not null || SparseOffsets.Count > 0;

        /// <summary>Parses records "length key=value\n", the length counting the whole record.</summary>
        public static PaxAttributes Parse(byte[] data, PaxAttributes? previous, long headerOffset)
        {
            var attributes = previous ?? new PaxAttributes();
            var position = 0;
            while (position < data.Length)
            {
                var rest = data.AsSpan(position);

                // Some writers pad the records with NULs.
                if (!rest.ContainsAnyExcept((byte)0))
                {
                    break;
                }

                var space = rest.IndexOf((byte)' ');
                if (space <= 0 || !TryParseDecimal(Encoding.ASCII.GetString(rest[..space]), out var length) || length <= space + 2 || length > rest.Length || rest[(int)length - 1] != '\n')
                {
                    throw new ImageException(ImageErrors.TarCorrupt, "A pax extended header holds a malformed record.", headerOffset);
                }

                var record = rest[(space + 1)..((int)length - 1)];
                var equals = record.IndexOf((byte)'=');
                if (equals <= 0)
                {
                    throw new ImageException(ImageErrors.TarCorrupt, "A pax extended header holds a record without a key.", headerOffset);
                }

                attributes.Set(Encoding.UTF8.GetString(record[..equals]), Encoding.UTF8.GetString(record[(equals + 1)..]), headerOffset);
                position += (int)length;
            }

            return attributes;
        }

        private void Set(string key, string value, long headerOffset)
        {
            switch (key)
            {
                case "path":
                    Path = value;
                    break;
                case "size":
                    Size = Number(key, value, headerOffset);
                    break;
                case "GNU.sparse.name":
                    SparseName = value;
                    break;
                case "GNU.sparse.realsize" or "GNU.sparse.size":
                    SparseRealSize = Number(key, value, headerOffset);
                    break;
                case "GNU.sparse.major":
                    SparseMajor = Number(key, value, headerOffset);
                    break;
                case "GNU.sparse.minor":
                    SparseMinor = Number(key, value, headerOffset);
                    break;
                case "GNU.sparse.numblocks":
                    SparseBlocks = Number(key, value, headerOffset);
                    break;
                case "GNU.sparse.map":
                    SparseMap = value;
                    break;
                case "GNU.sparse.offset":
                    SparseOffsets.Add(Number(key, value, headerOffset));
                    break;
                case "GNU.sparse.numbytes":
                    SparseLengths.Add(Number(key, value, headerOffset));
                    break;
            }
        }

        private static long Number(string key, string value, long headerOffset) =>
            TryParseDecimal(value, out var number)
                ? number
                : throw new ImageException(ImageErrors.TarCorrupt, $"A pax extended header's {key} is not a number.", headerOffset);
    }
}
