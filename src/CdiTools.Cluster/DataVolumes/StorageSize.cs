using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>
/// Reads a volume size the way admins write one: a number of bytes, a Kubernetes quantity ("10Gi",
/// "500M", "1.5Ti"), or a binary unit spelled out ("10GiB").
/// </summary>
public static partial class StorageSize
{
    /// <summary>The size in bytes; rounds a fractional byte count up, as the API server does.</summary>
    /// <exception cref="FormatException">The text is none of the accepted forms; the message says which forms are.</exception>
    public static long Parse(string text)
    {
        var trimmed = text.Trim();
        if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            return bytes;
        }

        // "10GiB" reads as "10Gi"; "10GB" is refused, since PowerShell means 2^30 by GB and Kubernetes 10^9 by G.
        if (SpelledBinary().Match(trimmed) is { Success: true } spelled)
        {
            trimmed = spelled.Groups[1].Value + spelled.Groups[2].Value;
        }

        if (!Quantity().IsMatch(trimmed))
        {
            throw new FormatException($"'{text}' is not a size: give bytes (10737418240), a Kubernetes quantity (10Gi, 500Mi, 20G) or a PowerShell number (10GB without quotes).");
        }

        var quantity = new ResourceQuantity(trimmed);
        return checked((long)Math.Ceiling(quantity.ToDecimal()));
    }

    [GeneratedRegex("^([0-9]+(?:\\.[0-9]+)?)\\s*([KMGTPE]i)B$")]
    private static partial Regex SpelledBinary();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?([KMGTPE]i|[kMGTPE]|m)?$")]
    private static partial Regex Quantity();
}
