using System.Globalization;
using System.Text;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>One extent line of a descriptor: <c>RW 16387 FLAT "disk-flat.vmdk" 0</c>.</summary>
internal sealed record VmdkExtentLine(string Access, long Sectors, string Type, string FileName, long? FlatOffsetSectors, int LineNumber);

/// <summary>
/// A VMDK text descriptor, embedded in a sparse extent or a file of its own: the create type,
/// content ids, the parent it names and its extent lines. Parsed with qemu's rules
/// (block/vmdk.c, vmdk_parse_extents and vmdk_read_cid): only RW extents count, a FLAT line needs
/// an offset, unknown extent types are skipped, and CID and parentCID must be there.
/// </summary>
internal sealed class VmdkDescriptor
{
    /// <summary>qemu reads at most this much of a descriptor (vmdk_read_desc).</summary>
    public const int MaxLength = (1 << 20) - 1;

    /// <summary>Descriptor-file create types qemu opens (vmdk_open_desc_file).</summary>
    private static readonly string[] FileCreateTypes = ["monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"];

    private static readonly string[] ExtentTypes = ["FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"];

    private VmdkDescriptor()
    {
    }

    public string? CreateType { get; private init; }

    public uint Cid { get; private init; }

    public uint ParentCid { get; private init; }

    public string? ParentFileNameHint { get; private init; }

    public IReadOnlyList<VmdkExtentLine> Extents { get; private init; } = [];

    public static bool LooksLikeDescriptorFile(ReadOnlySpan<byte> head) => head.StartsWith("# Disk DescriptorFile"u8);

    /// <param name="bytes">The descriptor's bytes; parsing stops at the first NUL, as qemu's C string does.</param>
    /// <param name="offset">Where the descriptor lies in its file, for error offsets.</param>
    public static VmdkDescriptor Parse(ReadOnlySpan<byte> bytes, long offset)
    {
        var end = bytes.IndexOf((byte)0);
        var text = Encoding.Latin1.GetString(end < 0 ? bytes : bytes[..end]);
        var lines = text.Split('\n');
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var extents = new List<VmdkExtentLine>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (TryParseExtent(line, i + 1, offset, out var extent))
            {
                if (extent is not null)
                {
                    extents.Add(extent);
                }

                continue;
            }

            var equals = line.IndexOf('=');
            if (equals > 0)
            {
                var key = line[..equals].Trim();
                var value = line[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                values.TryAdd(key, value);
            }
        }

        return new VmdkDescriptor
        {
            CreateType = values.GetValueOrDefault("createType"),
            Cid = ParseCid(values, "CID", offset),
            ParentCid = ParseCid(values, "parentCID", offset),
            ParentFileNameHint = values.GetValueOrDefault("parentFileNameHint") is { Length: > 0 } hint ? hint : null,
            Extents = extents,
        };
    }

    /// <summary>The refusal of a descriptor that names a parent (the disk is a delta of another one); null when it names none.</summary>
    public ImageException? ParentRefusal(long offset) =>
        ParentFileNameHint is { } parent
            ? new ImageException(ImageErrors.VmdkParentNotSupported,
                $"The VMDK is a differencing disk of '{parent}' (parentCID {ParentCid:x8}); convert the parent chain into one image first (qemu-img convert reads the chain).",
                offset)
            : null;

    /// <summary>Refuses a descriptor file whose create type qemu does not open as a descriptor.</summary>
    public void RefuseUnsupportedCreateType(long offset)
    {
        if (CreateType is null)
        {
            throw new ImageException(ImageErrors.VmdkDescriptorInvalid, "The VMDK descriptor has no createType.", offset);
        }

        if (!FileCreateTypes.Contains(CreateType, StringComparer.Ordinal))
        {
            throw new ImageException(ImageErrors.VmdkUnsupportedCreateType, $"A VMDK descriptor file of type '{CreateType}' is not supported; the types are {string.Join(", ", FileCreateTypes)}.", offset);
        }
    }

    private static uint ParseCid(Dictionary<string, string> values, string key, long offset)
    {
        if (!values.TryGetValue(key, out var text) || !uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cid))
        {
            throw new ImageException(ImageErrors.VmdkDescriptorInvalid, $"The VMDK descriptor has no valid {key} (qemu refuses to open it).", offset);
        }

        return cid;
    }

    // Returns true for a line that looks like an extent (access, sectors, type, "name"); extent
    // is null for one qemu skips (not RW, not a known type, no sectors).
    private static bool TryParseExtent(string line, int lineNumber, long offset, out VmdkExtentLine? extent)
    {
        extent = null;
        var quote = line.IndexOf('"');
        if (quote < 0)
        {
            return false;
        }

        var head = line[..quote].Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries);
        if (head.Length != 3 || !long.TryParse(head[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sectors))
        {
            return false;
        }

        var closing = line.IndexOf('"', quote + 1);
        if (closing < 0)
        {
            return false;
        }

        var (access, type, name) = (head[0], head[2], line[(quote + 1)..closing]);
        var tail = line[(closing + 1)..].Trim();
        long? flatOffset = null;
        if (tail.Length > 0)
        {
            if (!long.TryParse(tail.Split(' ', '\t')[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            {
                return true;
            }

            flatOffset = parsed;
        }

        if (access != "RW")
        {
            return true;
        }

        var valid = type switch
        {
            "FLAT" => flatOffset is >= 0,
            "VMFS" => flatOffset is null,
            _ => flatOffset is null,
        };
        if (!valid && ExtentTypes.Contains(type, StringComparer.Ordinal))
        {
            throw new ImageException(ImageErrors.VmdkExtentLineInvalid, $"Descriptor line {lineNumber} is not a valid extent: {line}", offset);
        }

        if (sectors <= 0 || !ExtentTypes.Contains(type, StringComparer.Ordinal))
        {
            return true;
        }

        extent = new VmdkExtentLine(access, sectors, type, name, type == "VMFS" ? 0 : flatOffset, lineNumber);
        return true;
    }
}
