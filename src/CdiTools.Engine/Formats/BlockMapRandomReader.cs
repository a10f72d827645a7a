using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats;

/// <summary>Writes a <see cref="BlockMap"/> disk read at random offsets: absent runs become zero runs without a read, present blocks are read straight into the output.</summary>
internal static class BlockMapRandomReader
{
    private const int ReadSize = 1 << 20;

    public static void Convert(IRandomAccessSource source, BlockMap map, RawOutput output, CancellationToken cancellationToken)
    {
        for (long block = 0; block < map.BlockCount;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!map.IsPresent(block))
            {
                var end = block + 1;
                while (end < map.BlockCount && !map.IsPresent(end))
                {
                    end++;
                }

                output.WriteZeros(map.GuestBytes(block, end));
                block = end;
                continue;
            }

            var host = map.HostOffset(block);
            for (var left = map.GuestBytes(block); left > 0;)
            {
                var span = output.GetSpan(Math.Min(left, ReadSize));
                var count = Math.Min(span.Length, left);
                var read = source.ReadAt(host, span[..count]);
                if (read != count)
                {
                    throw new ImageException(
                        map.Errors.OffsetBeyondEndOfFile,
                        $"The image ends inside block {block:N0} of the disk.",
                        host + read);
                }

                output.Advance(count);
                host += count;
                left -= count;
            }

            block++;
        }
    }
}
