namespace CdiTools.Engine.Layers.Tar;

/// <summary>
/// Where a sparse member's stored data islands belong in the real file; everything between them is
/// a hole that reads as zeros. The islands are stored one after another in map order.
/// </summary>
internal sealed class TarSparseMap
{
    /// <summary>
    /// A bound on islands per member, so a hostile map cannot exhaust memory (three longs each):
    /// GNU tar's maps of real disk images stay far below it.
    /// </summary>
    public const int MaxSegments = 1 << 21;

    private readonly long[] offsets;
    private readonly long[] lengths;
    private readonly long[] storedStarts;

    private TarSparseMap(long[] offsets, long[] lengths, long[] storedStarts, long realSize)
    {
        this.offsets = offsets;
        this.lengths = lengths;
        this.storedStarts = storedStarts;
        RealSize = realSize;
    }

    public long RealSize { get; }

    public int Count => offsets.Length;

    /// <summary>
    /// Checks the islands (ordered, not overlapping, inside the real size, adding up to the stored
    /// size) and keeps the non-empty ones; GNU tar ends its maps with an empty island at the real size.
    /// </summary>
    public static TarSparseMap Create(IReadOnlyList<(long Offset, long Length)> segments, long realSize, long storedSize, string member, long headerOffset)
    {
        if (realSize < 0)
        {
            throw Corrupt(member, $"has a negative real size {realSize}", headerOffset);
        }

        if (segments.Count > MaxSegments)
        {
            throw Corrupt(member, $"has {segments.Count:N0} sparse islands, more than the {MaxSegments:N0} accepted", headerOffset);
        }

        var kept = 0;
        long end = 0;
        long total = 0;
        foreach (var (offset, length) in segments)
        {
            if (offset < 0 || length < 0)
            {
                throw Corrupt(member, $"has a sparse island with a negative offset or length ({offset}, {length})", headerOffset);
            }

            if (offset < end)
            {
                throw Corrupt(member, $"has sparse islands out of order or overlapping (one at {offset:N0} before the end of the previous, {end:N0})", headerOffset);
            }

            if (length > realSize - offset)
            {
                throw Corrupt(member, $"has a sparse island ({offset:N0}, {length:N0}) beyond its real size {realSize:N0}", headerOffset);
            }

            end = offset + length;
            total += length;
            kept += length > 0 ? 1 : 0;
        }

        if (total != storedSize)
        {
            throw Corrupt(member, $"has sparse islands adding up to {total:N0} bytes, but {storedSize:N0} are stored", headerOffset);
        }

        var offsets = new long[kept];
        var lengths = new long[kept];
        var storedStarts = new long[kept];
        var index = 0;
        long stored = 0;
        foreach (var (offset, length) in segments)
        {
            if (length > 0)
            {
                offsets[index] = offset;
                lengths[index] = length;
                storedStarts[index] = stored;
                stored += length;
                index++;
            }
        }

        return new TarSparseMap(offsets, lengths, storedStarts, realSize);
    }

    public long OffsetOf(int segment) => offsets[segment];

    public long EndOf(int segment) => offsets[segment] + lengths[segment];

    /// <summary>Where island <paramref name="segment"/>'s bytes start, counted from the member's stored data.</summary>
    public long StoredStartOf(int segment) => storedStarts[segment];

    /// <summary>The first island that ends after <paramref name="position"/>; <see cref="Count"/> when none does.</summary>
    public int FindSegment(long position)
    {
        int low = 0, high = offsets.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (offsets[middle] + lengths[middle] <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>Parses a PAX 0.1 GNU.sparse.map value, "offset,length,offset,length,...".</summary>
    public static List<(long Offset, long Length)> ParsePairs(string text, string member, long headerOffset)
    {
        var numbers = new List<long>();
        if (text.Length > 0)
        {
            foreach (var part in text.Split(','))
            {
                if (!TarHeaderReader.TryParseDecimal(part, out var value))
                {
                    throw Corrupt(member, "has a GNU.sparse.map value that is not a list of numbers", headerOffset);
                }

                numbers.Add(value);
            }
        }

        if (numbers.Count % 2 != 0)
        {
            throw Corrupt(member, "has a GNU.sparse.map with an odd count of numbers", headerOffset);
        }

        var pairs = new List<(long, long)>(numbers.Count / 2);
        for (var i = 0; i < numbers.Count; i += 2)
        {
            pairs.Add((numbers[i], numbers[i + 1]));
        }

        return pairs;
    }

    public static ImageException Corrupt(string member, string what, long offset) =>
        new(ImageErrors.TarSparseCorrupt, $"The tar member '{TarDiskRules.Printable(member)}' {what}.", offset);
}
