namespace CdiTools.Cluster.Support;

/// <summary>
/// A question to the support matrix: which cells, for the documentation (no release) or for a
/// release. Empty filters match everything.
/// </summary>
public sealed record SupportQuery
{
    public IReadOnlyCollection<CdiContentType> ContentTypes { get; init; } = [];

    public IReadOnlyCollection<CdiImageFormat> Formats { get; init; } = [];

    /// <summary>Formats CDI converts but its table has no row for (vmdk, vhd, vhdx, vdi); only the engine's view answers for them.</summary>
    public IReadOnlyCollection<string> OtherFormats { get; init; } = [];

    /// <summary>Whether a format filter is given at all, of either kind.</summary>
    public bool FiltersFormats => Formats.Count > 0 || OtherFormats.Count > 0;

    public IReadOnlyCollection<CdiEndpoint> Endpoints { get; init; } = [];

    /// <summary>Only entries that do (true) or do not (false) need scratch space; null for both.</summary>
    public bool? RequiresScratch { get; init; }

    /// <summary>The release to answer for; null for CDI's documentation.</summary>
    public CdiVersion? Release { get; init; }

    public bool Matches(SupportEntry entry) =>
        (ContentTypes.Count == 0 || ContentTypes.Contains(entry.ContentType))
        && (!FiltersFormats || Formats.Contains(entry.Format))
        && (Endpoints.Count == 0 || Endpoints.Contains(entry.Endpoint))
        && (RequiresScratch is not { } scratch || entry.RequiresScratch == scratch);
}
