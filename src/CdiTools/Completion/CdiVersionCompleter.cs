using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using CdiTools.Cluster.Support;

namespace CdiTools.Completion;

/// <summary>Completes -CdiVersion with the releases where CDI's behaviour changed, newest first.</summary>
public sealed class CdiVersionCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters)
    {
        var typed = wordToComplete.Trim('\'', '"').TrimStart('v');
        var matrix = SupportMatrix.Cdi;
        foreach (var release in matrix.NotableReleases.Reverse())
        {
            var text = release.ToString();
            if (!text[1..].StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var changes = matrix.Changes.Where(c => c.FirstReleases.Contains(release)).Select(c => $"PR {c.PullRequest}: {c.Title}").ToList();
            var tip = release == matrix.NewestRelease ? "the newest release CdiTools knows"
                : release == matrix.OldestRelease ? "the oldest release CdiTools models"
                : string.Join("; ", changes);
            yield return new CompletionResult(text, text, CompletionResultType.ParameterValue, tip);
        }
    }
}
