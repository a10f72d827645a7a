using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>
/// Opens the disk image inside a tar layer: picks the member that is the disk and gives its bytes,
/// expanded when the archive stores it sparse, without extracting anything.
/// </summary>
/// <remarks>
/// The disk is, among regular files: the only one; else the largest under disk/ (CDI's container-disk
/// layout); else the largest named like an image (.qcow2, .img, .raw, .iso, .vmdk, ... optionally
/// compressed). A forward-only archive cannot be looked over first, so there the first regular file
/// under disk/ or named like an image is taken, and the rest of the archive is checked against the
/// rules once that member has been read to its end.
/// </remarks>
public static class TarLayer
{
    /// <summary>The tar layer in <see cref="Formats.LayerFormats"/>: "ustar" at 257 (POSIX and GNU archives).</summary>
    internal static Formats.LayerFormat Registration { get; } = new()
    {
        Name = "tar",
        Role = Formats.LayerRole.Wrapper,
        Extensions = [".tar"],
        Head = static head => head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8),
        Peel = static (input, _) =>
        {
            var (member, choice) = Open(input);
            var description = $"{choice.Name}: {choice.Reason}";
            return new(member, $"tar ({description})", description);
        },
    };

    /// <summary>
    /// Finds the disk member of <paramref name="tar"/> and returns its bytes as a LayerInput plus the
    /// choice made. The returned LayerInput owns <paramref name="tar"/> (disposing it disposes the tar
    /// input); if this throws, the caller still owns <paramref name="tar"/>.
    /// </summary>
    public static (LayerInput Member, TarMemberChoice Choice) Open(LayerInput tar)
    {
        ArgumentNullException.ThrowIfNull(tar);
        return tar.Random is { } random ? OpenRandom(tar, random) : OpenForward(tar, tar.Forward!);
    }

    /// <summary>Every entry of a random-access archive, from its headers alone.</summary>
    internal static List<TarMember> List(IRandomAccessSource archive) => List(new TarHeaderReader(new RandomTarCursor(archive)));

    private static List<TarMember> List(TarHeaderReader reader)
    {
        var members = new List<TarMember>();
        while (reader.Next() is { } member)
        {
            // Sparse maps can be long; the chosen member's is read again, the others' are not needed.
            members.Add(member with { Map = null });
            reader.SkipData(member);
        }

        return members;
    }

    private static (LayerInput, TarMemberChoice) OpenRandom(LayerInput tar, IRandomAccessSource random)
    {
        var cursor = new RandomTarCursor(random);
        var reader = new TarHeaderReader(cursor);
        var members = List(reader);
        var (index, reason) = TarDiskRules.Choose(members);
        var member = members[index];
        if (member.IsSparse)
        {
            cursor.Seek(member.HeaderOffset);
            member = reader.Next()!;
            if (member.SparseFormat == TarSparseFormat.Pax10)
            {
                member = reader.ReadPax10Map(member);
            }
        }

        IRandomAccessSource source = member.Map is null
            ? new WindowSource(random, member.DataOffset, member.StoredSize)
            : new TarSparseSource(random, member.DataOffset, member.Map, member.Name);
        return (LayerInput.FromRandom(new OwningSource(source, tar)), Choice(member, reason));
    }

    private static (LayerInput, TarMemberChoice) OpenForward(LayerInput tar, Stream forward)
    {
        var cursor = new ForwardTarCursor(forward);
        var reader = new TarHeaderReader(cursor);
        var members = new List<TarMember>();
        while (true)
        {
            var member = reader.Next() ?? throw TarDiskRules.NoForwardCandidate(members);
            if (TarDiskRules.IsForwardCandidate(member))
            {
                if (member.SparseFormat == TarSparseFormat.Pax10)
                {
                    member = reader.ReadPax10Map(member);
                }

                members.Add(member);
                var reason = TarDiskRules.IsUnderDisk(member.Name)
                    ? "the first file under disk/, read forward-only"
                    : "the first image file, read forward-only";
                var stream = new TarMemberStream(reader, cursor, members, reason, tar);
                return (LayerInput.FromStream(stream, member.RealSize), Choice(member, reason));
            }

            // Only names and sizes are needed to check the choice later.
            members.Add(member with { Map = null });
            reader.SkipData(member);
        }
    }

    private static TarMemberChoice Choice(TarMember member, string reason) => new(member.Name, member.RealSize, member.IsSparse, reason);
}
