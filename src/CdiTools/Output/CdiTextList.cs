using System.Collections.ObjectModel;

namespace CdiTools;

/// <summary>
/// Lines of text on an output object (notes, warnings, features, conditions): a list in the
/// pipeline (<c>$r.Notes[0]</c>, <c>-contains</c>, <c>ForEach-Object</c>), and one readable value
/// where PowerShell turns it into a string by <see cref="ToString"/>, as Export-Csv and
/// ConvertTo-Csv do, which would write <c>System.String[]</c> for an array.
/// </summary>
public sealed class CdiTextList : ReadOnlyCollection<string>
{
    private readonly string separator;

    internal CdiTextList(IEnumerable<string> lines, string separator = "; ")
        : base([.. lines])
    {
        this.separator = separator;
    }

    /// <summary>The lines joined, as a CSV cell holds them.</summary>
    public override string ToString() => string.Join(separator, this);
}
