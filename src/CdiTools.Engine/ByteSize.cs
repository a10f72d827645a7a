using System.Globalization;

namespace CdiTools.Engine;

/// <summary>Sizes as people read them: binary units, three significant digits.</summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>"0 B", "512 B", "1.5 KiB", "20 GiB", "819 MiB".</summary>
    public static string Format(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var format = value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    /// <summary>A rate such as "350 MiB/s".</summary>
    public static string FormatRate(double bytesPerSecond) =>
        Format((long)Math.Max(0, Math.Round(bytesPerSecond))) + "/s";
}
