using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Blocks (clusters, grains) a forward-only format reader has to keep: in memory up to a budget, then in a scratch file
/// that is deleted when the store is disposed. Spilled bytes are counted, since keeping data is
/// exactly what streaming conversion exists to avoid.
/// </summary>
internal sealed class BlockStore(int blockSize, long memoryBudget, string? scratchDirectory, ImageError truncatedErrorId) : IDisposable
{
    private readonly Dictionary<long, Entry> entries = [];
    private SafeFileHandle? scratch;
    private string? scratchPath;
    private long scratchEnd;
    private long memoryHeld;
    private long heldBytes;
    private readonly Stack<long> freeSlots = new();

    public long SpilledBytes { get; private set; }

    /// <summary>The most disk data held at once, in memory and scratch together.</summary>
    public long PeakHeldBytes { get; private set; }

    public bool Contains(long key) => entries.ContainsKey(key);

    /// <param name="isData">False for tables kept to read the image (L2, refcount blocks), which
    /// <see cref="PeakHeldBytes"/> does not count: it measures early-arriving disk data.</param>
    public void Add(long key, ReadOnlySpan<byte> data, bool unknown, bool isData = true)
    {
        if (entries.ContainsKey(key))
        {
            return;
        }

        Entry entry;
        if (memoryHeld + blockSize <= memoryBudget)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
            data.CopyTo(buffer);
            entry = new Entry(buffer, -1, data.Length, unknown, isData);
            memoryHeld += blockSize;
        }
        else
        {
            var slot = freeSlots.Count > 0 ? freeSlots.Pop() : AllocateSlot();
            RandomAccess.Write(scratch!, data, slot);
            SpilledBytes += data.Length;
            entry = new Entry(null, slot, data.Length, unknown, isData);
        }

        entries[key] = entry;
        if (isData)
        {
            heldBytes += data.Length;
            PeakHeldBytes = Math.Max(PeakHeldBytes, heldBytes);
        }
    }

    /// <summary>Copies the whole kept block's first <paramref name="destination"/>.Length bytes; false if not kept.</summary>
    public bool TryRead(long key, Span<byte> destination)
    {
        if (!entries.TryGetValue(key, out var entry))
        {
            return false;
        }

        if (entry.Length < destination.Length)
        {
            throw new ImageException(truncatedErrorId, $"The image ends inside the block at 0x{key * (long)blockSize:X}.", key * (long)blockSize + entry.Length);
        }

        Read(entry, 0, destination);
        return true;
    }

    /// <summary>Copies what is kept of [offset, offset + destination.Length) of a block; returns how many bytes that was.</summary>
    public int TryReadPart(long key, int offset, Span<byte> destination)
    {
        if (!entries.TryGetValue(key, out var entry))
        {
            return 0;
        }

        var count = Math.Clamp(entry.Length - offset, 0, destination.Length);
        Read(entry, offset, destination[..count]);
        return count;
    }

    public void MarkKnown(long key) => SetUnknown(key, false);

    public void MarkUnknown(long key) => SetUnknown(key, true);

    public void Remove(long key)
    {
        if (entries.Remove(key, out var entry))
        {
            Free(entry);
        }
    }

    /// <summary>Drops every block kept only because a table still to come might have mapped it.</summary>
    public void RemoveUnknown()
    {
        foreach (var key in entries.Where(e => e.Value.Unknown).Select(e => e.Key).ToList())
        {
            Remove(key);
        }
    }

    public void Dispose()
    {
        foreach (var entry in entries.Values)
        {
            Free(entry);
        }

        entries.Clear();
        scratch?.Dispose();
        if (scratchPath is not null)
        {
            File.Delete(scratchPath);
        }
    }

    private void SetUnknown(long key, bool unknown)
    {
        if (entries.TryGetValue(key, out var entry))
        {
            entries[key] = entry with { Unknown = unknown };
        }
    }

    private void Read(Entry entry, int offset, Span<byte> destination)
    {
        if (entry.Memory is not null)
        {
            entry.Memory.AsSpan(offset, destination.Length).CopyTo(destination);
        }
        else
        {
            RandomAccess.Read(scratch!, destination, entry.Slot + offset);
        }
    }

    private void Free(Entry entry)
    {
        if (entry.IsData)
        {
            heldBytes -= entry.Length;
        }

        if (entry.Memory is not null)
        {
            ArrayPool<byte>.Shared.Return(entry.Memory);
            memoryHeld -= blockSize;
        }
        else
        {
            freeSlots.Push(entry.Slot);
        }
    }

    private long AllocateSlot()
    {
        if (scratch is null)
        {
            var folder = scratchDirectory ?? Path.GetTempPath();
            scratchPath = Path.Combine(folder, $"cditools-scratch-{Guid.NewGuid():N}.tmp");
            scratch = File.OpenHandle(scratchPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
        }

        var slot = scratchEnd;
        scratchEnd += blockSize;
        return slot;
    }

    private readonly record struct Entry(byte[]? Memory, long Slot, int Length, bool Unknown, bool IsData);
}
