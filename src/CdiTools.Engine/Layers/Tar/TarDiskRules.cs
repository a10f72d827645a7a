using System.Text;
using CdiTools.Engine.Formats;

namespace CdiTools.Engine.Layers.Tar;

/// <summary>Which regular file of a tar is the disk image: the rules, and the refusals when none or two qualify.</summary>
internal static class TarDiskRules
{
    // Listed in refusals; the compression suffixes are layers the engine unwraps after the tar.
    private static readonly string[] ImageExtensions = [.. LayerFormats.InRole(LayerRole.Disk).SelectMany(format => format.Extensions), LayerFormats.AnyFormatExtension];
    private static readonly string[] CompressionExtensions = [.. LayerFormats.InRole(LayerRole.Wrapper).Where(format => format != TarLayer.Registration).SelectMany(format => format.Extensions)];

    private const int NamesListed = 10;

    /// <summary>CDI's container-disk images keep the disk under /disk.</summary>
    public static bool IsUnderDisk(string name) => name.StartsWith("disk/", StringComparison.Ordinal) && name.Length > "disk/".Length;

    public static bool HasImageExtension(string name)
    {
        foreach (var compression in CompressionExtensions)
        {
            if (name.EndsWith(compression, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^compression.Length];
                break;
            }
        }

        foreach (var extension in ImageExtensions)
        {
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && name.Length > extension.Length && name[^(extension.Length + 1)] != '/')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether reading forward-only takes <paramref name="member"/> the moment its header is read.</summary>
    public static bool IsForwardCandidate(TarMember member) =>
        member.IsRegular && (IsUnderDisk(member.Name) || HasImageExtension(member.Name));

    /// <summary>Applies the rules to a whole archive's entries; returns the index of the disk among them.</summary>
    public static (int Index, string Reason) Choose(IReadOnlyList<TarMember> members)
    {
        var regular = Enumerable.Range(0, members.Count).Where(i => members[i].IsRegular).ToList();
        if (regular.Count == 1)
        {
            return (regular[0], "the only regular file");
        }

        var underDisk = regular.Where(i => IsUnderDisk(members[i].Name)).ToList();
        if (underDisk.Count > 0)
        {
            return (Largest(members, underDisk), underDisk.Count == 1 ? "the only file under disk/" : $"the largest of {underDisk.Count} files under disk/");
        }

        var images = regular.Where(i => HasImageExtension(members[i].Name)).ToList();
        if (images.Count > 0)
        {
            return (Largest(members, images), images.Count == 1 ? "the only image file" : $"the largest image file of {images.Count}");
        }

        throw new ImageException(ImageErrors.TarNoDiskImage,
            regular.Count == 0
                ? $"The tar archive holds no regular files, so no disk image{LinksNotFollowed(members)}."
                : $"The tar archive holds no disk image: {DescribeRegularFiles(members)}; none is under disk/ or named like an image ({string.Join(" ", ImageExtensions)}, optionally compressed).");
    }

    public static ImageException NoForwardCandidate(IReadOnlyList<TarMember> members) => new(
        ImageErrors.TarNoDiskImage,
        $"The tar archive is read forward-only, which takes the first regular file under disk/ or named like an image ({string.Join(" ", ImageExtensions)}, optionally compressed), and none is: {DescribeRegularFiles(members)}. Give the disk such a name, or read the archive from a seekable source.");

    /// <summary>Escapes control characters, so a member name cannot garble a message.</summary>
    public static string Printable(string name)
    {
        if (!name.Any(char.IsControl))
        {
            return name;
        }

        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsControl(c) ? $"\\x{(int)c:X2}" : c);
        }

        return builder.ToString();
    }

    private static int Largest(IReadOnlyList<TarMember> members, List<int> candidates)
    {
        // The first wins a tie, so forward-only reading, which takes the first, agrees.
        var best = candidates[0];
        foreach (var i in candidates)
        {
            if (members[i].RealSize > members[best].RealSize)
            {
                best = i;
            }
        }

        return best;
    }

    private static string DescribeRegularFiles(IReadOnlyList<TarMember> members)
    {
        var names = members.Where(m => m.IsRegular).Select(m => $"'{Printable(m.Name)}'").ToList();
        return names.Count switch
        {
            0 => "it has no regular files",
            <= NamesListed => $"its regular files are {string.Join(", ", names)}",
            _ => $"its {names.Count} regular files are {string.Join(", ", names.Take(NamesListed))} and {names.Count - NamesListed} more",
        } + LinksNotFollowed(members);
    }

    // A link's target is a path on whatever file system the archive is unpacked on; reading it
    // would read a file of this machine, so links are never taken for the disk.
    private static string LinksNotFollowed(IReadOnlyList<TarMember> members)
    {
        var links = members.Where(m => m.TypeFlag is '1' or '2').Select(m => $"'{Printable(m.Name)}'").ToList();
        return links.Count == 0
            ? string.Empty
            : $" ({links.Count} link{(links.Count == 1 ? string.Empty : "s")}, {string.Join(", ", links.Take(NamesListed))}{(links.Count > NamesListed ? ", ..." : string.Empty)}, {(links.Count == 1 ? "is" : "are")} not followed: the disk must be a regular file of the archive)";
    }
}
