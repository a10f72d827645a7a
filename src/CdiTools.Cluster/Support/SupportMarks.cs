namespace CdiTools.Cluster.Support;

/// <summary>The marks CDI's documentation uses in its matrix, and their meaning.</summary>
public static class SupportMarks
{
    public const string Supported = "S";
    public const string Scratch = "S*";
    public const string ConditionalScratch = "S**";
    public const string NotSupported = "-";

    /// <summary>Each mark with what it means, in the order a legend lists them.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Legend { get; } =
    [
        new(Supported, "supported, no scratch space"),
        new(Scratch, "supported, needs scratch space"),
        new(ConditionalScratch, "supported, needs scratch space only under the entry's condition"),
        new(NotSupported, "not supported"),
    ];

    /// <summary>
    /// The heading a person reads above a list of entries or a grid: what the answer is taken
    /// from, what the marks mean, and for a release grid how a departure from the documentation shows.
    /// </summary>
    public static string Heading(CdiVersion? release, bool grid)
    {
        var lines = new List<string> { $"Matrix: {SupportMatrix.SourceName(release)}" };
        lines.AddRange(Legend.Select(mark => $"{mark.Key,-4} {mark.Value}"));
        if (release is not null && grid)
        {
            lines.Add($"A release mark that differs from the documentation shows it: {Scratch} (doc {Supported}).");
        }

        return string.Join(Environment.NewLine, lines);
    }

    public static string Of(ScratchUse scratch) => scratch switch
    {
        ScratchUse.Never => Supported,
        ScratchUse.Always => Scratch,
        ScratchUse.Conditional => ConditionalScratch,
        _ => NotSupported,
    };

    /// <summary>The reverse of <see cref="Of"/>; throws <see cref="FormatException"/> for anything else.</summary>
    public static ScratchUse Parse(string mark) => mark.Trim() switch
    {
        Supported => ScratchUse.Never,
        Scratch => ScratchUse.Always,
        ConditionalScratch => ScratchUse.Conditional,
        NotSupported => ScratchUse.NotApplicable,
        _ => throw new FormatException($"'{mark}' is not a support mark; expected one of S, S*, S**, -."),
    };
}
