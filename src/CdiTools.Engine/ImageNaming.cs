using CdiTools.Engine.Formats;

namespace CdiTools.Engine;

/// <summary>
/// What a file's name says it holds against what its bytes are. The engine goes by the bytes, as
/// qemu-img and CDI do; a name that says otherwise (a saved HTML error page called disk.qcow2, an
/// image that was never compressed called .xz) usually means the wrong file, so it is worth a warning.
/// </summary>
public static class ImageNaming
{
    // Outermost extension last in a name: disk.qcow2.xz is xz around qcow2. ".img" names every
    // format in the wild (cirros ships qcow2 as .img), so it claims nothing; ".tgz" is tar in gzip.
    private static readonly (string Extension, string Layer)[] Claims =
    [
        .. LayerFormats.All.Where(format => format.Role != LayerRole.Refused).SelectMany(format => format.Extensions.Select(extension => (extension, format.CommonName))),
        (".tgz", "gzip"),
    ];

    /// <summary>
    /// The layers <paramref name="fileName"/> claims, outermost first: "disk.qcow2.xz" gives xz, qcow2.
    /// </summary>
    public static IReadOnlyList<string> ClaimedLayers(string fileName)
    {
        var claimed = new List<string>();
        var name = fileName;
        while (Claims.FirstOrDefault(c => name.Length > c.Extension.Length && name.EndsWith(c.Extension, StringComparison.OrdinalIgnoreCase)) is { Extension: not null } claim)
        {
            claimed.Add(claim.Layer);
            if (claim.Extension == ".tgz")
            {
                claimed.Add("tar");
            }

            name = name[..^claim.Extension.Length];
        }

        return claimed;
    }

    /// <summary>
    /// A warning when the name claims a layer or format the content does not have, layer by layer
    /// from the outside; null when the name agrees or claims nothing.
    /// </summary>
    /// <param name="formatChain">The detected layers, outermost first, as <see cref="OpenedImage.FormatChain"/> gives them ("xz (liblzma 5.4.1)", "qcow2").</param>
    public static string? Contradiction(string fileName, IReadOnlyList<string> formatChain)
    {
        var claimed = ClaimedLayers(fileName);
        var detected = formatChain.Select(layer => LayerFormats.Named(layer)?.CommonName ?? layer.Split(' ', 2)[0].ToLowerInvariant()).ToList();
        for (var i = 0; i < claimed.Count; i++)
        {
            var found = i < detected.Count ? detected[i] : null;
            if (found != claimed[i])
            {
                var named = $"'{fileName}' is named like {Article(claimed[i])} {claimed[i]}{(i == 0 ? string.Empty : $" inside {string.Join(" inside ", claimed.Take(i).Reverse())}")}";
                var actual = found is null ? "but there is no such layer in it" : $"but {(i == 0 ? "it" : "that layer")} is {Article(found)} {found}";
                return $"{named}, {actual}" + (found == "raw"
                    ? $" (no {claimed[i]} signature, so it is taken as a raw disk, as qemu-img and CDI would). Check that it is the file you meant: a download that failed can leave an error page under the image's name."
                    : ". It is read as what it is.");
            }
        }

        return null;
    }

    // Format names are said letter by letter or as words: "an xz", "a qcow2", "an iso".
    private static string Article(string word) => word.Length > 0 && "aeiox".Contains(word[0], StringComparison.Ordinal) ? "an" : "a";
}
