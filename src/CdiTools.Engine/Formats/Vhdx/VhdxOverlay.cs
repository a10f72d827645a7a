namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// The result of replaying a VHDX log in memory: 4 KiB sectors written with data or zeros, in
/// log order, laid over the file's own bytes wherever the file is read (headers' region tables,
/// metadata, BAT and payload alike), so the image reads as it would after qemu replayed the log
/// into the file.
/// </summary>
internal sealed class VhdxOverlay
{
    private const long Mebibyte = 1 << 20;

    private readonly List<Write> writes = [];

    // The span of the file the writes touch: most reads (payload blocks) lie outside it and skip the list.
    private long lowest = long.MaxValue;
    private long highest;

    public static VhdxOverlay Empty { get; } = new();

    public bool IsEmpty => writes.Count == 0;

    public int SectorCount { get; private set; }

    /// <summary>The file's length once the log is replayed: writes past the end extend it.</summary>
    public long ExtendLength(long fileLength)
    {
        foreach (var write in writes)
        {
            fileLength = Math.Max(fileLength, write.Offset + write.Length);
            if (write.LastFileOffset > fileLength)
            {
                fileLength = (write.LastFileOffset + Mebibyte - 1) & ~(Mebibyte - 1);
            }
        }

        return fileLength;
    }

    /// <summary>The highest FlushedFileOffset among the replayed entries: a shorter file was truncated after the log was written.</summary>
    public long RequiredLength { get; private set; }

    public void AddData(long offset, byte[] sector)
    {
        writes.Add(new Write(offset, sector.Length, sector, 0));
        Cover(offset, sector.Length);
        SectorCount++;
    }

    public void AddZeros(long offset, long length)
    {
        writes.Add(new Write(offset, length, null, 0));
        Cover(offset, length);
        SectorCount++;
    }

    /// <summary>After an entry, a file shorter than the entry's LastFileOffset grows to it (rounded up to 1 MiB, as qemu does only when it is not already a multiple).</summary>
    public void AddLastFileOffset(long lastFileOffset, long flushedFileOffset)
    {
        RequiredLength = Math.Max(RequiredLength, flushedFileOffset);
        if (lastFileOffset % Mebibyte != 0)
        {
            writes.Add(new Write(0, 0, null, lastFileOffset));
        }
    }

    /// <summary>Lays the replayed writes over <paramref name="data"/>, which holds the file's bytes from <paramref name="offset"/>.</summary>
    public void Apply(long offset, Span<byte> data)
    {
        var end = offset + data.Length;
        if (end <= lowest || offset >= highest)
        {
            return;
        }

        foreach (var write in writes)
        {
            if (write.Length == 0)
            {
                continue;
            }

            var from = Math.Max(offset, write.Offset);
            var to = Math.Min(end, write.Offset + write.Length);
            if (from >= to)
            {
                continue;
            }

            var target = data.Slice((int)(from - offset), (int)(to - from));
            if (write.Data is null)
            {
                target.Clear();
            }
            else
            {
                write.Data.AsSpan((int)(from - write.Offset), target.Length).CopyTo(target);
            }
        }
    }

    private void Cover(long offset, long length)
    {
        lowest = Math.Min(lowest, offset);
        highest = Math.Max(highest, offset + length);
    }

    private readonly record struct Write(long Offset, long Length, byte[]? Data, long LastFileOffset);
}
