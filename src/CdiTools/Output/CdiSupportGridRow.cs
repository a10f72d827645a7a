using System.Management.Automation;
using CdiTools.Cluster.Support;

namespace CdiTools;

/// <summary>
/// One line of the support matrix as a person reads it (Get-CdiSupportMatrix -AsGrid): a content
/// type and format with its mark for each endpoint. For a release, a mark that differs from the
/// documentation is followed by the documented one: "S* (doc S)".
/// </summary>
/// <remarks>A view over the cluster layer's row, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiSupportGridRow
{
    private readonly SupportGridRow row;

    internal CdiSupportGridRow(SupportGridRow row) => this.row = row;

    public CdiContentType ContentType => row.ContentType;

    public CdiImageFormat Format => row.Format;

    public string Http => row.CellText(CdiEndpoint.Http);

    public string Https => row.CellText(CdiEndpoint.Https);

    public string HttpBasicAuth => row.CellText(CdiEndpoint.HttpBasicAuth);

    public string Registry => row.CellText(CdiEndpoint.Registry);

    public string Upload => row.CellText(CdiEndpoint.Upload);

    /// <summary>The footnotes of the row's cells, each once.</summary>
    public CdiTextList Notes => new(row.Notes, " ");

    /// <summary>The CDI release answered for; null when the grid is CDI's documentation.</summary>
    public string? CdiVersion => row.Release?.ToString();

    /// <summary>What the grid is taken from: "CDI documentation" or "CDI v1.66.0".</summary>
    public string Matrix => SupportMatrix.SourceName(row.Release);

    /// <summary>The heading of the default view: source, legend, how departures from the documentation show.</summary>
    [Hidden]
    public string Heading => SupportMarks.Heading(row.Release, grid: true);

    /// <inheritdoc />
    public override string ToString() =>
        $"{ContentType} {Format}: HTTP {Http}, HTTPS {Https}, HTTP basic auth {HttpBasicAuth}, Registry {Registry}, Upload {Upload}";
}
