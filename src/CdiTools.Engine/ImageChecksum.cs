using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace CdiTools.Engine;

/// <summary>
/// A checksum an image file must have, as published beside it: of the file as it is stored (the
/// .xz or .qcow2 downloaded), never of the disk inside. MD5, SHA-1, SHA-256 and SHA-512, the
/// algorithms CDI's own checksum field takes.
/// </summary>
public sealed partial record ImageChecksum
{
    private static readonly Dictionary<string, (HashAlgorithmName Name, int HexLength)> Algorithms = new(StringComparer.OrdinalIgnoreCase)
    {
        ["md5"] = (HashAlgorithmName.MD5, 32),
        ["sha1"] = (HashAlgorithmName.SHA1, 40),
        ["sha256"] = (HashAlgorithmName.SHA256, 64),
        ["sha512"] = (HashAlgorithmName.SHA512, 128),
    };

    private ImageChecksum(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    /// <summary>md5, sha1, sha256 or sha512.</summary>
    public string Algorithm { get; }

    /// <summary>The expected digest, lower-case hex.</summary>
    public string Hex { get; }

    /// <summary>The .NET name of <see cref="Algorithm"/>.</summary>
    public HashAlgorithmName HashAlgorithm => Algorithms[Algorithm].Name;

    // GNU coreutils: "HEX  name" or "HEX *name"; BSD and Fedora's CHECKSUM files: "SHA256 (name) = HEX".
    [GeneratedRegex(@"^(?<hex>[0-9a-fA-F]+)\s+\*?(?<name>.+)$")]
    private static partial Regex GnuLine();

    [GeneratedRegex(@"^(?<algorithm>[A-Za-z0-9]+)\s*\((?<name>.+)\)\s*=\s*(?<hex>[0-9a-fA-F]+)$")]
    private static partial Regex BsdLine();

    /// <summary>
    /// Reads a checksum as people paste it: <c>HEX</c> (the length tells the algorithm),
    /// <c>sha256:HEX</c>, a <c>sha256sum</c> line (<c>HEX  name</c>) or a BSD-style line
    /// (<c>SHA256 (name) = HEX</c>). A line that names a file must name <paramref name="imageName"/>
    /// when that is known, so a line copied from the wrong row is caught before anything is read.
    /// </summary>
    /// <exception cref="ImageException">InvalidChecksum, or ChecksumForAnotherFile.</exception>
    public static ImageChecksum Parse(string text, string? imageName)
    {
        var trimmed = text.Trim();
        string? algorithm = null;
        string hex;
        string? named = null;
        if (BsdLine().Match(trimmed) is { Success: true } bsd)
        {
            (algorithm, named, hex) = (bsd.Groups["algorithm"].Value.Replace("-", string.Empty, StringComparison.Ordinal), bsd.Groups["name"].Value, bsd.Groups["hex"].Value);
        }
        else if (GnuLine().Match(trimmed) is { Success: true } gnu)
        {
            (named, hex) = (gnu.Groups["name"].Value.Trim(), gnu.Groups["hex"].Value);
        }
        else
        {
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            (algorithm, hex) = colon < 0 ? (null, trimmed) : (trimmed[..colon], trimmed[(colon + 1)..]);
        }

        algorithm ??= Algorithms.FirstOrDefault(a => a.Value.HexLength == hex.Length).Key;
        if (algorithm is null || !Algorithms.TryGetValue(algorithm, out var known))
        {
            throw new ImageException(ImageErrors.InvalidChecksum,
                $"'{Shorten(trimmed)}' is not a checksum CdiTools reads. Give HEX, ALGORITHM:HEX (md5, sha1, sha256 or sha512), a sha256sum line (HEX  FILE) or a BSD line (SHA256 (FILE) = HEX).");
        }

        if (hex.Length != known.HexLength || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ImageException(ImageErrors.InvalidChecksum,
                $"'{Shorten(hex)}' is not a {algorithm.ToLowerInvariant()} digest: that is {known.HexLength} hexadecimal digits.");
        }

        if (named is not null && imageName is not null && !string.Equals(Path.GetFileName(named), Path.GetFileName(imageName), StringComparison.Ordinal))
        {
            throw new ImageException(ImageErrors.ChecksumForAnotherFile,
                $"The checksum line is for '{Shorten(named)}', not for '{Path.GetFileName(imageName)}'; take the line of this image.");
        }

        return new ImageChecksum(algorithm.ToLowerInvariant(), hex.ToLower(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Algorithm}:{Hex}";

    private static string Shorten(string text) => text.Length <= 140 ? text : text[..140] + "...";
}
