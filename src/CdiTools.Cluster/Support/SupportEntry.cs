namespace CdiTools.Cluster.Support;

/// <summary>
/// One cell of CDI's support matrix: whether CDI imports <see cref="Format"/> content of
/// <see cref="ContentType"/> from <see cref="Endpoint"/>, and whether that needs scratch space,
/// either as CDI's documentation says (<see cref="Release"/> is null) or as a given release does.
/// </summary>
public sealed record SupportEntry
{
    public required CdiContentType ContentType { get; init; }

    public required CdiImageFormat Format { get; init; }

    public required CdiEndpoint Endpoint { get; init; }

    public required ScratchUse Scratch { get; init; }

    /// <summary>When <see cref="Scratch"/> is <see cref="ScratchUse.Conditional"/>: the condition.</summary>
    public string? Condition { get; init; }

    /// <summary>The condition's name in the data ("customCa", "pullMethodPod", "nbdkit", ...), for code that decides it.</summary>
    public string? ConditionKey { get; init; }

    /// <summary>Why scratch space is needed, or why the import is not supported.</summary>
    public string? Reason { get; init; }

    /// <summary>Footnotes: limits, disagreements in CDI's documentation, differences from it.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Which storage class a scratch PVC gets, for entries that use scratch space.</summary>
    public string? ScratchStorageClass { get; init; }

    /// <summary>The release the answer is for; null for the documented matrix.</summary>
    public CdiVersion? Release { get; init; }

    /// <summary>The documented mark of the same cell, so a release answer shows where it departs.</summary>
    public required string DocumentedMark { get; init; }

    public bool Supported => Scratch != ScratchUse.NotApplicable;

    /// <summary>True when the import may allocate scratch space (always, or under <see cref="Condition"/>).</summary>
    public bool RequiresScratch => Scratch is ScratchUse.Always or ScratchUse.Conditional;

    /// <summary>The mark of CDI's documentation: S, S* (scratch), S** (scratch under a condition), - (not supported).</summary>
    public string Mark => SupportMarks.Of(Scratch);

    public bool DiffersFromDocumentation => Mark != DocumentedMark;
}
