using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Copies a stretch of a random-access source into the disk as it is (a raw file, a fixed VHD's
/// data, a flat VMDK extent), reading only the ranges the source stores: holes become zero runs
/// without a byte of them read, as qemu-img's block status skips them.
/// </summary>
internal static class SparseCopy
{
    private const int ReadSize = 1 << 20;

    /// <param name="source">What to read.</param>
    /// <param name="start">Where the stretch starts in the source.</param>
    /// <param name="length">Its length; the source must hold all of it.</param>
    /// <param name="truncated">The error for a source that ends early, given the offset where it ended.</param>
    public static void Copy(IRandomAccessSource source, long start, long length, RawOutput output, Func<long, ImageException> truncated, CancellationToken cancellationToken)
    {
        var end = start + length;
        if (end > source.Length)
        {
            throw truncated(source.Length);
        }

        for (var offset = start; offset < end;)
        {
            var data = source.NextData(offset);
            var dataStart = Math.Clamp(data.Start, offset, end);
            output.WriteZeros(dataStart - offset);
            offset = dataStart;

            // A range that makes no progress (a file system changing under us) is read whole.
            var dataEnd = data.End > offset ? Math.Min(data.End, end) : end;
            while (offset < dataEnd)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var span = output.GetSpan(ReadSize);
                var want = (int)Math.Min(Math.Min(span.Length, ReadSize), dataEnd - offset);
                var read = source.ReadAt(offset, span[..want]);
                if (read != want)
                {
                    throw truncated(offset + read);
                }

                output.Advance(read);
                offset += read;
            }
        }
    }
}
