namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// Converts a VHDX image read forward once (after a decompressor, or from a server without
/// ranges), 1 MiB at a time: every VHDX region and payload block starts on a 1 MiB boundary.
/// The header section, log, metadata and BAT come first in the files qemu and Hyper-V write, so
/// payload blocks then go straight to the output when they are in guest order. A piece of a
/// block that arrives before the disk needs it, or before the BAT that maps it, is kept in a
/// <see cref="BlockStore"/> (memory, then a scratch file) and counted.
/// </summary>
internal sealed class VhdxStreamDriver : IImageDriver
{
    private const int Chunk = VhdxLayout.Mebibyte;

    private readonly Stream stream;
    private readonly long? declaredLength;
    private readonly BlockStore store;
    private readonly byte[] current = new byte[Chunk];
    private readonly VhdxLayout layout;

    // Chunks read while the structure was still unknown, kept in case a block maps them.
    private readonly List<long> keptEarly = [];

    // Where the structure lies, as the layout learns it.
    private readonly List<(long Offset, long Length, bool WillRead)> announced = [];

    // Present blocks sorted by where they are in the file, to tell whether a chunk going by is
    // still needed by a part of the disk not written yet.
    private readonly long[] presentStarts = [];
    private readonly long[] presentBlocks = [];

    private long currentIndex = -1;
    private int currentLength;
    private bool currentTaken;
    private bool ended;
    private long streamLength;
    private bool structureKnown;
    private long emittedThrough = -1;

    public VhdxStreamDriver(Stream stream, long? length, ImageOpenOptions options)
    {
        this.stream = stream;
        declaredLength = length;
        store = new BlockStore(Chunk, options.MemoryBudget, options.ScratchDirectory, ImageErrors.VhdxTruncated);
        try
        {
            layout = VhdxLayout.Read(new ForwardFile(this));
            var present = new List<(long Start, long Block)>();
            for (long block = 0; block < layout.BlockCount; block++)
            {
                if (VhdxLayout.State(layout.Blocks[block]) == VhdxBlockState.FullyPresent)
                {
                    present.Add((VhdxLayout.FileOffset(layout.Blocks[block]), block));
                }
            }

            present.Sort();
            presentStarts = present.Select(p => p.Start).ToArray();
            presentBlocks = present.Select(p => p.Block).ToArray();
            structureKnown = true;
            foreach (var index in keptEarly)
            {
                if (Wanted(index))
                {
                    store.MarkKnown(index);
                }
                else
                {
                    store.Remove(index);
                }
            }
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public ImageDetails Details => layout.Details;

    public ImageException? Refusal => layout.Refusal;

    public long ScratchBytes => store.SpilledBytes;

    public long KeptBytes => store.PeakHeldBytes;

    private int ChunksPerBlock => layout.BlockSize / Chunk;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        for (long block = 0; block < layout.BlockCount; block++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entry = layout.Blocks[block];
            var bytes = layout.BlockBytes(block);
            if (VhdxLayout.State(entry) != VhdxBlockState.FullyPresent)
            {
                output.WriteZeros(bytes);
                emittedThrough = ((block + 1) * ChunksPerBlock) - 1;
                continue;
            }

            var firstChunk = VhdxLayout.FileOffset(entry) / Chunk;
            for (var piece = 0; piece * (long)Chunk < bytes; piece++)
            {
                var count = (int)Math.Min(Chunk, bytes - (piece * (long)Chunk));
                var span = output.GetSpan(count)[..count];
                var index = firstChunk + piece;
                var fromStore = Fetch(index, span, block);
                layout.Overlay.Apply(index * Chunk, span);
                output.Advance(count);
                emittedThrough = (block * ChunksPerBlock) + piece;
                if (fromStore && !Wanted(index))
                {
                    store.Remove(index);
                }
            }

            emittedThrough = ((block + 1) * ChunksPerBlock) - 1;
        }

        // Read to the end: the layers below check their own integrity (gzip CRC, xz check, the
        // input checksum) only when they reach it.
        while (Advance())
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (layout.Overlay.RequiredLength > streamLength)
        {
            throw new ImageException(ImageErrors.VhdxLogInvalid, $"The log says the file was at least {layout.Overlay.RequiredLength:N0} bytes long, but it is {streamLength:N0}: the image was truncated.", streamLength);
        }
    }

    public void Dispose()
    {
        store.Dispose();
        stream.Dispose();
    }

    // Copies the file's chunk `index` into `destination`; true when it came from the store.
    private bool Fetch(long index, Span<byte> destination, long block)
    {
        if (index < currentIndex || (index == currentIndex && currentTaken))
        {
            if (store.TryRead(index, destination))
            {
                return true;
            }

            throw new ImageException(ImageErrors.VhdxBlockOverlapsRegion, $"Block {block} maps file offset 0x{index * Chunk:X}, which holds VHDX structure.", index * Chunk);
        }

        while (currentIndex < index && Advance())
        {
        }

        var available = 0;
        if (currentIndex == index)
        {
            available = Math.Min(currentLength, destination.Length);
            current.AsSpan(0, available).CopyTo(destination);
        }

        if (available < destination.Length)
        {
            // Past the end reads as zeros where a replayed log grew the file; otherwise the
            // file was cut short (qemu refuses such an image when it opens it).
            if (index * Chunk + destination.Length > layout.Overlay.ExtendLength(streamLength))
            {
                throw new ImageException(ImageErrors.VhdxBlockBeyondEndOfFile, $"The image ends at {streamLength:N0} bytes, inside block {block} at 0x{index * Chunk:X}; it was probably truncated.", streamLength);
            }

            destination[available..].Clear();
        }

        return false;
    }

    // Reads the next chunk, first keeping the one it replaces if anything may still need it.
    private bool Advance()
    {
        if (currentIndex >= 0 && currentLength > 0 && !currentTaken)
        {
            Pass(currentIndex, current.AsSpan(0, currentLength));
        }

        currentTaken = false;
        if (ended)
        {
            currentLength = 0;
            return false;
        }

        currentIndex++;
        currentLength = ReadFull(current);
        streamLength += currentLength;
        if (currentLength < Chunk)
        {
            ended = true;
        }

        return currentLength > 0;
    }

    private void Pass(long index, ReadOnlySpan<byte> data)
    {
        if (!structureKnown)
        {
            // Structure still to be read waits in the store as such; structure never read
            // (an empty log, regions qemu ignores) is dropped; anything else may be payload.
            var chunkStart = index * Chunk;
            var chunkEnd = chunkStart + data.Length;
            var region = announced.FindLast(r => chunkStart >= r.Offset && chunkEnd <= r.Offset + r.Length);
            if (region.Length > 0 && !region.WillRead)
            {
                return;
            }

            store.Add(index, data, unknown: true, isData: region.Length == 0);
            keptEarly.Add(index);
        }
        else if (Wanted(index))
        {
            store.Add(index, data, unknown: false);
        }
    }

    // Whether a part of the disk not written yet maps the file's chunk `index`. Blocks may
    // overlap in a damaged file, so every block starting within a block's length before it counts.
    private bool Wanted(long index)
    {
        var offset = index * Chunk;
        var low = 0;
        var high = presentStarts.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (presentStarts[middle] <= offset)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        for (var i = low - 1; i >= 0 && presentStarts[i] > offset - layout.BlockSize; i--)
        {
            var within = offset - presentStarts[i];
            if (within < layout.BlockBytes(presentBlocks[i]) && (presentBlocks[i] * ChunksPerBlock) + (within / Chunk) > emittedThrough)
            {
                return true;
            }
        }

        return false;
    }

    // Fewer bytes than asked only at the end of the input.
    private int ReadFull(Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    /// <summary>The structure reads of <see cref="VhdxLayout"/>, served from the stream in file order.</summary>
    private sealed class ForwardFile(VhdxStreamDriver driver) : IVhdxFile
    {
        private const int InitialCapacity = 16 * Chunk;

        public long? Length => driver.declaredLength;

        public (byte[] Data, int Available) ReadRegion(long offset, int length)
        {
            // Grown as the bytes arrive, so a huge BAT claimed by a short stream costs nothing.
            var data = new byte[Math.Min(length, InitialCapacity)];
            var available = 0;
            var end = offset + length;
            for (var index = offset / Chunk; index * Chunk < end; index++)
            {
                var chunkStart = index * Chunk;
                var from = Math.Max(offset, chunkStart);
                var to = Math.Min(end, chunkStart + Chunk);
                var whole = from == chunkStart && to == chunkStart + Chunk;
                if (to - offset > data.Length)
                {
                    Array.Resize(ref data, (int)Math.Min(length, Math.Max(data.Length * 2L, to - offset)));
                }

                var target = data.AsSpan((int)(from - offset), (int)(to - from));
                int got;
                if (index < driver.currentIndex || (index == driver.currentIndex && driver.currentTaken))
                {
                    if (!driver.store.Contains(index))
                    {
                        throw new ImageException(ImageErrors.VhdxRegionOverlap, $"The VHDX structure at 0x{from:X} overlaps other structure read before it.", from);
                    }

                    got = driver.store.TryReadPart(index, (int)(from - chunkStart), target);
                    if (whole)
                    {
                        driver.store.Remove(index);
                    }
                }
                else
                {
                    while (driver.currentIndex < index && driver.Advance())
                    {
                    }

                    if (driver.currentIndex != index)
                    {
                        break;
                    }

                    got = Math.Clamp(driver.currentLength - (int)(from - chunkStart), 0, target.Length);
                    driver.current.AsSpan((int)(from - chunkStart), got).CopyTo(target);
                    driver.currentTaken = whole && driver.currentLength == Chunk;
                }

                if (got > 0)
                {
                    available = (int)(from - offset) + got;
                }

                if (got < target.Length)
                {
                    break;
                }
            }

            if (data.Length < length)
            {
                if (available < length && length > InitialCapacity)
                {
                    // Only the BAT and a large log are this big; the file cannot hold them.
                    throw new ImageException(ImageErrors.VhdxTruncated, $"The image ends at {driver.streamLength:N0} bytes, inside the {length:N0}-byte structure at 0x{offset:X}.", driver.streamLength);
                }

                Array.Resize(ref data, length);
            }

            return (data, available);
        }

        public void Announce(long offset, long length, bool willRead) => driver.announced.Add((offset, length, willRead));
    }
}
