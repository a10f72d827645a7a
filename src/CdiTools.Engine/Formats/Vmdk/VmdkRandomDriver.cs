using System.Buffers;
using System.Buffers.Binary;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// Converts a VMDK whose extents it can read at any offset: walks the disk in order through each
/// extent, copies flat extents, and for sparse ones goes through the grain directory and tables,
/// reading runs of grains that are contiguous in the file in one request, announcing unallocated
/// and zeroed grains without reading them, and inflating compressed grains on every core.
/// </summary>
internal sealed class VmdkRandomDriver : IImageDriver
{
    private const int MaxRun = RawOutput.BufferSize;

    private readonly IReadOnlyList<VmdkExtent> extents;
    private readonly bool preferNativeDecoders;
    /// <param name="refusal">What the image uses that cannot be converted (a parent); null when nothing.</param>
    public VmdkRandomDriver(IReadOnlyList<VmdkExtent> extents, ImageDetails details, bool preferNativeDecoders, ImageException? refusal)
    {
        this.extents = extents;
        this.preferNativeDecoders = preferNativeDecoders;
        Refusal = refusal;
        Details = details;
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal { get; }

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        using var inflaters = new DecoderPool<VmdkGrainInflater>(() => VmdkGrainInflater.Create(preferNativeDecoders));
        foreach (var extent in extents)
        {
            switch (extent)
            {
                case VmdkFlatExtent flat:
                    CopyFlat(flat, output, cancellationToken);
                    break;
                case VmdkSparseExtent sparse:
                    ConvertSparse(sparse, output, inflaters, cancellationToken);
                    break;
            }
        }
    }

    public void Dispose()
    {
        foreach (var extent in extents)
        {
            extent.Dispose();
        }
    }

    // qemu reads a flat extent's missing end as zeros; a short flat extent is a truncated copy.
    private static void CopyFlat(VmdkFlatExtent extent, RawOutput output, CancellationToken cancellationToken) =>
        SparseCopy.Copy(
            extent.Source,
            extent.StartOffset,
            extent.Sectors * VmdkHeader.Sector,
            output,
            _ => new ImageException(ImageErrors.VmdkExtentTruncated, $"The flat extent '{extent.Name}' is {extent.Source.Length:N0} bytes; the descriptor needs {extent.StartOffset + (extent.Sectors * VmdkHeader.Sector):N0}.", extent.Source.Length),
            cancellationToken);

    private static void ConvertSparse(VmdkSparseExtent extent, RawOutput output, DecoderPool<VmdkGrainInflater> inflaters, CancellationToken cancellationToken)
    {
        var header = extent.Header;
        var grainSize = header.GrainSize;
        var extentBytes = header.VirtualSize;
        var grains = (extentBytes + grainSize - 1) / grainSize;
        var tableBytes = new byte[header.TableBytes];
        var table = new uint[header.GrainTableEntries];
        var batch = new List<(long Host, int Needed)>();

        // The disk bytes of grain `grain` of the extent: the last one stops at the extent's end.
        int GuestBytes(long grain) => (int)Math.Min(grainSize, extentBytes - (grain * grainSize));

        for (long grain = 0; grain < grains;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tableIndex = (int)(grain / header.GrainTableEntries);
            var inTable = (int)(grain % header.GrainTableEntries);
            var left = (int)Math.Min(header.GrainTableEntries - inTable, grains - grain);
            var tableSector = extent.Directory[tableIndex];
            if (tableSector == 0)
            {
                output.WriteZeros(Math.Min((long)left * grainSize, extentBytes - (grain * grainSize)));
                grain += left;
                continue;
            }

            if (inTable == 0 || grain == 0)
            {
                ReadExactly(extent, (long)tableSector * VmdkHeader.Sector, tableBytes, "a grain table");
                for (var i = 0; i < table.Length; i++)
                {
                    table[i] = BinaryPrimitives.ReadUInt32LittleEndian(tableBytes.AsSpan(i * 4));
                }
            }

            var entry = table[inTable];
            var run = 1;
            if (IsZero(entry, header))
            {
                while (run < left && IsZero(table[inTable + run], header))
                {
                    run++;
                }

                output.WriteZeros(Math.Min((long)run * grainSize, extentBytes - (grain * grainSize)));
            }
            else if (!header.Compressed)
            {
                var host = (long)entry * VmdkHeader.Sector;
                while (run < left && (run + 1L) * grainSize <= MaxRun && table[inTable + run] == entry + (uint)(run * header.GrainSectors) && !IsZero(table[inTable + run], header))
                {
                    run++;
                }

                var bytes = (int)Math.Min((long)run * grainSize, extentBytes - (grain * grainSize));
                var span = output.GetSpan(bytes)[..bytes];
                ReadExactly(extent, host, span, "a grain");
                output.Advance(bytes);
            }
            else
            {
                batch.Clear();
                batch.Add(((long)entry * VmdkHeader.Sector, GuestBytes(grain)));
                while (run < left && (run + 1L) * grainSize <= MaxRun && !IsZero(table[inTable + run], header))
                {
                    batch.Add(((long)table[inTable + run] * VmdkHeader.Sector, GuestBytes(grain + run)));
                    run++;
                }

                InflateBatch(extent, batch, output, inflaters, cancellationToken);
            }

            grain += run;
        }
    }

    // 0 is unallocated (zeros without a parent); 1 is a zeroed grain where the header enables them.
    private static bool IsZero(uint entry, VmdkHeader header) => entry == 0 || (entry == 1 && header.HasZeroGrains);

    private static void InflateBatch(VmdkSparseExtent extent, List<(long Host, int Needed)> batch, RawOutput output, DecoderPool<VmdkGrainInflater> inflaters, CancellationToken cancellationToken)
    {
        var header = extent.Header;
        var grainSize = header.GrainSize;
        var length = extent.Source.Length;

        // qemu reads two grains' worth at the grain's offset: the marker and data must fit in that.
        var maxCompressed = 2 * grainSize;
        var first = batch[0].Host;
        var last = batch.Max(g => g.Host);
        var contiguous = batch.All(g => g.Host >= first) && last - first <= (long)batch.Count * (maxCompressed + VmdkHeader.Sector);
        var readLength = contiguous
            ? (int)Math.Clamp(length - first, 0, last - first + VmdkMarker.GrainHeaderLength + maxCompressed)
            : batch.Count * (VmdkMarker.GrainHeaderLength + maxCompressed);
        var input = ArrayPool<byte>.Shared.Rent(Math.Max(readLength, 1));
        try
        {
            var starts = new int[batch.Count];
            var lengths = new int[batch.Count];
            if (contiguous)
            {
                var read = extent.Source.ReadAt(first, input.AsSpan(0, readLength));
                for (var i = 0; i < batch.Count; i++)
                {
                    (starts[i], lengths[i]) = Locate(header, input.AsSpan(0, read), (int)(batch[i].Host - first), batch[i].Host, length);
                }
            }
            else
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    var at = i * (VmdkMarker.GrainHeaderLength + maxCompressed);
                    var read = extent.Source.ReadAt(batch[i].Host, input.AsSpan(at, VmdkMarker.GrainHeaderLength + maxCompressed));
                    (starts[i], lengths[i]) = Locate(header, input.AsSpan(at, read), 0, batch[i].Host, length);
                    starts[i] += at;
                }
            }

            var bytes = batch.Sum(g => g.Needed);
            var memory = output.GetMemory(batch.Count * grainSize);
            inflaters.DecodeAll(
                batch.Count,
                (inflater, i) => inflater.Inflate(input.AsSpan(starts[i], lengths[i]), memory.Span.Slice(i * grainSize, grainSize), batch[i].Needed, batch[i].Host),
                cancellationToken);

            // Grains before the last are whole, so the inflated bytes are already where they belong.
            output.Advance(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    // Where a compressed grain's data lies in `buffer` (read from the file at host - offset): after
    // its marker when the extent has markers, else a grain's worth from its offset.
    private static (int Start, int Length) Locate(VmdkHeader header, ReadOnlySpan<byte> buffer, int offset, long host, long fileLength)
    {
        if (host >= fileLength)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"A compressed grain at 0x{host:X} lies beyond the end of the {fileLength:N0}-byte extent.", host);
        }

        if (!header.HasMarkers)
        {
            return (offset, Math.Min(header.GrainSize, buffer.Length - offset));
        }

        if (offset + VmdkMarker.GrainHeaderLength > buffer.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The extent ends inside the grain marker at 0x{host:X}.", host);
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(buffer[(offset + 8)..]);
        if (size == 0 || size > 2L * header.GrainSize)
        {
            throw new ImageException(ImageErrors.VmdkCompressedGrainCorrupt, $"The grain marker at 0x{host:X} gives a compressed size of {size} bytes (1 to {2 * header.GrainSize} allowed).", host + 8);
        }

        var start = offset + VmdkMarker.GrainHeaderLength;
        if (start + size > buffer.Length)
        {
            throw new ImageException(ImageErrors.VmdkOffsetBeyondEndOfFile, $"The compressed grain at 0x{host:X} ({size} bytes) runs past the end of the {fileLength:N0}-byte extent.", host);
        }

        return (start, (int)size);
    }

    private static void ReadExactly(VmdkExtent extent, long offset, Span<byte> destination, string what) =>
        extent.Source.ReadExactly(offset, destination, ImageErrors.VmdkOffsetBeyondEndOfFile, what, $"The extent '{extent.Name}'");
}
