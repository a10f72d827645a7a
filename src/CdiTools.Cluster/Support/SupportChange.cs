namespace CdiTools.Cluster.Support;

/// <summary>
/// A change in CDI's code that altered what its support matrix says, with the first release of
/// each branch it landed on (backports land on older branches after newer ones got it).
/// </summary>
public sealed record SupportChange(string Title, int PullRequest, string Commit, IReadOnlyList<CdiVersion> FirstReleases)
{
    /// <summary>Whether <paramref name="release"/> contains the change.</summary>
    public bool IsIn(CdiVersion release) =>
        release >= FirstReleases.Max() || FirstReleases.Any(first => release.SameBranchAs(first) && release >= first);

    /// <summary>"CDI pull request 3219 (first in v1.57.1, v1.58.4, v1.59.1, v1.60.0)".</summary>
    public string Citation =>
        $"CDI pull request {PullRequest} (first in {string.Join(", ", FirstReleases)})";
}
