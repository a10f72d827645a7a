namespace CdiTools.Cluster.Support;

// The shape of support-matrix.yaml. Only SupportMatrix reads it; it checks every reference and
// every cell, so these classes stay plain. Unknown keys are refused by the deserializer.

internal sealed class SupportMatrixDocument
{
    public List<CdiEndpoint> Endpoints { get; set; } = [];

    public string OldestRelease { get; set; } = string.Empty;

    public string NewestRelease { get; set; } = string.Empty;

    public Dictionary<string, string> Reasons { get; set; } = [];

    public Dictionary<string, string> Conditions { get; set; } = [];

    public Dictionary<string, string> Notes { get; set; } = [];

    public DocumentedSection? Documented { get; set; }

    public ReleasesSection? Releases { get; set; }
}

internal sealed class DocumentedSection
{
    public string ScratchStorageClass { get; set; } = string.Empty;

    public List<RowDefinition> Rows { get; set; } = [];

    public List<RuleDefinition> Rules { get; set; } = [];
}

internal sealed class RowDefinition
{
    public CdiContentType ContentType { get; set; }

    public CdiImageFormat Format { get; set; }

    public List<string> Marks { get; set; } = [];
}

internal sealed class RuleDefinition
{
    public List<CdiContentType>? ContentTypes { get; set; }

    public List<CdiImageFormat>? Formats { get; set; }

    public List<CdiEndpoint>? Endpoints { get; set; }

    public string? Mark { get; set; }

    public string? Condition { get; set; }

    public string? Reason { get; set; }

    public string? Note { get; set; }
}

internal sealed class ReleasesSection
{
    public BaselineSection? Baseline { get; set; }

    public List<ChangeDefinition> Changes { get; set; } = [];
}

internal sealed class BaselineSection
{
    public string ScratchStorageClass { get; set; } = string.Empty;

    public List<RuleDefinition> Rules { get; set; } = [];
}

internal sealed class ChangeDefinition
{
    public string Title { get; set; } = string.Empty;

    public int PullRequest { get; set; }

    public string Commit { get; set; } = string.Empty;

    public List<string> FirstReleases { get; set; } = [];

    public string? ScratchStorageClass { get; set; }

    public List<RuleDefinition> Rules { get; set; } = [];
}
