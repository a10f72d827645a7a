namespace CdiTools.Cluster.Support;

/// <summary>One line of the matrix as a person reads it: a content type and format, and its entry per endpoint.</summary>
public sealed record SupportGridRow(
    CdiContentType ContentType,
    CdiImageFormat Format,
    CdiVersion? Release,
    IReadOnlyDictionary<CdiEndpoint, SupportEntry> Cells)
{
    /// <summary>
    /// The mark for <paramref name="endpoint"/>; for a release, followed by the documented mark
    /// where the two differ ("S* (doc S)"). Empty when the endpoint was filtered out.
    /// </summary>
    public string CellText(CdiEndpoint endpoint) =>
        !Cells.TryGetValue(endpoint, out var entry) ? string.Empty
        : entry.DiffersFromDocumentation ? $"{entry.Mark} (doc {entry.DocumentedMark})"
        : entry.Mark;

    /// <summary>The notes of the row's cells, each once, in the order they first appear.</summary>
    public IReadOnlyList<string> Notes => Cells.Values.SelectMany(c => c.Notes).Distinct().ToArray();
}
