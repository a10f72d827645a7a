using System.Buffers;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Reads a <see cref="BlockMap"/> image forward once (after a decompressor, or from a server
/// without ranges): first its headers and table, in file order, then its blocks in file order,
/// writing the disk in guest order. A block that arrives before the disk needs it is kept in a
/// <see cref="BlockStore"/> (memory, then a scratch file); images that store blocks in guest order,
/// as qemu-img writes them, need nothing kept.
/// </summary>
internal sealed class BlockMapStreamReader : IDisposable
{
    private const int ChunkSize = 1 << 20;

    private readonly Stream stream;
    private readonly BlockMapErrors errors;
    private readonly ImageOpenOptions options;
    private BlockStore? store;

    public BlockMapStreamReader(Stream stream, BlockMapErrors errors, ImageOpenOptions options)
    {
        this.stream = stream;
        this.errors = errors;
        this.options = options;
    }

    /// <summary>The offset in the file of the next byte to read.</summary>
    public long Position { get; private set; }

    public long SpilledBytes => store?.SpilledBytes ?? 0;

    public long PeakHeldBytes => store?.PeakHeldBytes ?? 0;

    /// <summary>Reads what the input holds of a header or table at <paramref name="offset"/>, which
    /// must not lie behind what was read already; returns how many bytes there were.</summary>
    public int ReadMetadataAvailable(long offset, Span<byte> destination, string what)
    {
        if (offset < Position)
        {
            throw NotStreamable($"{what} at 0x{offset:X} lies before data already read (0x{Position:X})", offset);
        }

        if (!SkipAvailable(offset - Position))
        {
            return 0;
        }

        var total = 0;
        while (total < destination.Length)
        {
            var read = stream.Read(destination[total..]);
            if (read == 0)
            {
                break;
            }

            Position += read;
            total += read;
        }

        return total;
    }

    /// <summary>Writes the whole disk, then reads the input to its end so the layers below check their own integrity.</summary>
    public void Convert(BlockMap map, RawOutput output, CancellationToken cancellationToken)
    {
        store = new BlockStore(map.BlockSize, options.MemoryBudget, options.ScratchDirectory, errors.OffsetBeyondEndOfFile);
        var order = FileOrder(map);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(map.BlockSize, ChunkSize));
        try
        {
            long emit = 0;
            var next = 0;
            while (emit < map.BlockCount)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!map.IsPresent(emit))
                {
                    var end = emit + 1;
                    while (end < map.BlockCount && !map.IsPresent(end))
                    {
                        end++;
                    }

                    output.WriteZeros(map.GuestBytes(emit, end));
                    emit = end;
                    continue;
                }

                if (store.Contains(emit))
                {
                    CopyKept(emit, map.GuestBytes(emit), output);
                    emit++;
                    continue;
                }

                // The block the disk needs next is still ahead in the file: read the next block in
                // file order (and any other guest blocks that share its bytes).
                var entry = (uint)(order[next] >> 32);
                var group = 1;
                while (next + group < order.Length && (uint)(order[next + group] >> 32) == entry)
                {
                    group++;
                }

                var host = map.HostOffsetOfEntry(entry);
                if (host < Position)
                {
                    throw NotStreamable($"block {(uint)order[next]:N0} of the disk at 0x{host:X} overlaps data already read (0x{Position:X})", host);
                }

                Skip(host - Position, "a data block");
                if (group == 1 && (uint)order[next] == emit)
                {
                    ReadInto(output, map.GuestBytes(emit));
                    emit++;
                }
                else
                {
                    var bytes = 0;
                    for (var i = 0; i < group; i++)
                    {
                        bytes = Math.Max(bytes, map.GuestBytes((uint)order[next + i]));
                    }

                    ReadExactly(buffer.AsSpan(0, bytes), "a data block");
                    for (var i = 0; i < group; i++)
                    {
                        long guest = (uint)order[next + i];
                        store.Add(guest, buffer.AsSpan(0, map.GuestBytes(guest)), unknown: false);
                    }
                }

                next += group;
            }

            while (stream.Read(buffer) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        store?.Dispose();
        stream.Dispose();
    }

    // Present blocks sorted by where they lie in the file: entry in the high half, guest block in
    // the low half, so one sort of plain integers gives file order (the guest index fits 32 bits
    // because tables are limited well below 2^32 entries).
    private static ulong[] FileOrder(BlockMap map)
    {
        var count = 0;
        for (long block = 0; block < map.BlockCount; block++)
        {
            if (map.IsPresent(block))
            {
                count++;
            }
        }

        var order = new ulong[count];
        var at = 0;
        for (long block = 0; block < map.BlockCount; block++)
        {
            if (map.IsPresent(block))
            {
                order[at++] = ((ulong)map.Entry(block) << 32) | (ulong)block;
            }
        }

        Array.Sort(order);
        return order;
    }

    private void CopyKept(long block, int bytes, RawOutput output)
    {
        for (var done = 0; done < bytes;)
        {
            var span = output.GetSpan(Math.Min(bytes - done, ChunkSize));
            var count = Math.Min(span.Length, bytes - done);
            store!.TryReadPart(block, done, span[..count]);
            output.Advance(count);
            done += count;
        }

        store!.Remove(block);
    }

    private void ReadInto(RawOutput output, int bytes)
    {
        for (var done = 0; done < bytes;)
        {
            var span = output.GetSpan(Math.Min(bytes - done, ChunkSize));
            var count = Math.Min(span.Length, bytes - done);
            ReadExactly(span[..count], "a data block");
            output.Advance(count);
            done += count;
        }
    }

    private void Skip(long count, string what)
    {
        if (!SkipAvailable(count))
        {
            throw Truncated(what);
        }
    }

    // False when the input ends first.
    private bool SkipAvailable(long count)
    {
        if (count == 0)
        {
            return true;
        }

        var discard = ArrayPool<byte>.Shared.Rent((int)Math.Min(count, ChunkSize));
        try
        {
            while (count > 0)
            {
                var read = stream.Read(discard, 0, (int)Math.Min(count, discard.Length));
                if (read == 0)
                {
                    return false;
                }

                Position += read;
                count -= read;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(discard);
        }
    }

    private void ReadExactly(Span<byte> destination, string what)
    {
        while (!destination.IsEmpty)
        {
            var read = stream.Read(destination);
            if (read == 0)
            {
                throw Truncated(what);
            }

            Position += read;
            destination = destination[read..];
        }
    }

    private ImageException Truncated(string what) =>
        new(errors.OffsetBeyondEndOfFile, $"The image ends before {what}: it is truncated or damaged.", Position);

    private ImageException NotStreamable(string reason, long offset) =>
        new(
            errors.LayoutNotStreamable,
            $"The image cannot be read forward in one pass: {reason}. Give it as a file or from a server that allows range requests.",
            offset);
}
