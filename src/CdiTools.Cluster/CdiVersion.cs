using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CdiTools.Cluster;

/// <summary>
/// A CDI release number as the project tags it (<c>v1.66.0</c>) and as the CDI CR reports it in
/// <c>status.observedVersion</c>. A pre-release suffix (<c>-rc.1</c>) is kept for display but
/// compares like the release it precedes would.
/// </summary>
public readonly partial record struct CdiVersion(int Major, int Minor, int Patch, string? PreRelease = null)
    : IComparable<CdiVersion>
{
    [GeneratedRegex(@"^\s*v?(?<major>\d{1,4})\.(?<minor>\d{1,4})(?:\.(?<patch>\d{1,4}))?(?:-(?<pre>[0-9A-Za-z.-]+))?\s*$")]
    private static partial Regex VersionPattern();

    /// <summary>Parses <c>v1.66.0</c>, <c>1.66.0</c>, <c>1.66</c> or <c>v1.58.0-rc1</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out CdiVersion version)
    {
        version = default;
        if (text is null)
        {
            return false;
        }

        var match = VersionPattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        version = new CdiVersion(
            int.Parse(match.Groups["major"].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups["minor"].Value, CultureInfo.InvariantCulture),
            match.Groups["patch"].Success ? int.Parse(match.Groups["patch"].Value, CultureInfo.InvariantCulture) : 0,
            match.Groups["pre"].Success ? match.Groups["pre"].Value : null);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/> and throws <see cref="FormatException"/> on anything else.</summary>
    public static CdiVersion Parse(string text) =>
        TryParse(text, out var version)
            ? version
            : throw new FormatException($"'{text}' is not a CDI release number such as v1.66.0.");

    /// <summary>Whether both are on the same release branch (<c>release-v1.58</c>).</summary>
    public bool SameBranchAs(CdiVersion other) => Major == other.Major && Minor == other.Minor;

    /// <inheritdoc />
    public int CompareTo(CdiVersion other) =>
        (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public static bool operator <(CdiVersion left, CdiVersion right) => left.CompareTo(right) < 0;

    public static bool operator >(CdiVersion left, CdiVersion right) => left.CompareTo(right) > 0;

    public static bool operator <=(CdiVersion left, CdiVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >=(CdiVersion left, CdiVersion right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() =>
        PreRelease is null ? $"v{Major}.{Minor}.{Patch}" : $"v{Major}.{Minor}.{Patch}-{PreRelease}";
}
