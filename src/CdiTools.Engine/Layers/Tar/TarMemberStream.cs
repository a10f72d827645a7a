using System.Runtime.ExceptionServices;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>
/// A tar member read forward-only, straight from the archive stream into the caller's buffer (holes
/// of a sparse member as zeros). At its end it reads the rest of the archive's headers, to refuse an
/// archive whose disk, by the whole-archive rules, is another member.
/// </summary>
internal sealed class TarMemberStream(TarHeaderReader reader, ForwardTarCursor cursor, List<TarMember> members, string reason, LayerInput owner) : ForwardReadStream
{
    private readonly TarMember member = members[^1];
    private readonly int memberIndex = members.Count - 1;
    private long position;
    private int segment;
    private bool checkedRest;
    private ExceptionDispatchInfo? failure;

    public override int Read(Span<byte> buffer)
    {
        failure?.Throw();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (position >= member.RealSize)
        {
            if (!checkedRest)
            {
                CheckRest();
            }

            return 0;
        }

        buffer = buffer[..(int)Math.Min(buffer.Length, member.RealSize - position)];
        var map = member.Map;
        int count;
        if (map is null)
        {
            count = ReadStored(buffer);
        }
        else if (segment == map.Count || position < map.OffsetOf(segment))
        {
            var holeEnd = segment == map.Count ? map.RealSize : map.OffsetOf(segment);
            count = (int)Math.Min(buffer.Length, holeEnd - position);
            buffer[..count].Clear();
        }
        else
        {
            count = ReadStored(buffer[..(int)Math.Min(buffer.Length, map.EndOf(segment) - position)]);
            if (position + count == map.EndOf(segment))
            {
                segment++;
            }
        }

        position += count;
        return count;
    }

    // The archive beneath is read synchronously; a decompressor or a network stream blocks the same either way.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            owner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int ReadStored(Span<byte> buffer)
    {
        var read = cursor.ReadSome(buffer);
        if (read == 0)
        {
            Fail(new ImageException(ImageErrors.TarTruncated, $"The tar archive ends inside the data of member '{TarDiskRules.Printable(member.Name)}'.", cursor.Position));
        }

        return read;
    }

    /// <summary>
    /// Reads the headers after the member (skipping data), checks the archive ends properly, and
    /// compares the whole-archive choice with the forward one.
    /// </summary>
    private void CheckRest()
    {
        try
        {
            reader.SkipData(member);
            while (reader.Next() is { } next)
            {
                members.Add(next with { Map = null });
                reader.SkipData(next);
            }

            cursor.Drain();
            var (index, wholeReason) = TarDiskRules.Choose(members);
            if (index != memberIndex)
            {
                var other = members[index];
                throw new ImageException(ImageErrors.TarAmbiguousDisk,
                    $"The tar archive was read forward-only, which took '{TarDiskRules.Printable(member.Name)}' ({reason}) as the disk, but the whole archive makes '{TarDiskRules.Printable(other.Name)}' the disk ({wholeReason}). Read the archive from a seekable source, or repackage it with the disk first or alone.",
                    other.HeaderOffset);
            }

            checkedRest = true;
        }
        catch (ImageException error)
        {
            Fail(error);
        }
    }

    private void Fail(ImageException error)
    {
        failure = ExceptionDispatchInfo.Capture(error);
        failure.Throw();
    }
}
