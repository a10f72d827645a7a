namespace CdiTools.Cluster.Support;

/// <summary>Whether an import that CDI supports allocates a scratch PVC.</summary>
public enum ScratchUse
{
    /// <summary>The import is not supported, so the question does not arise.</summary>
    NotApplicable,

    /// <summary>No scratch PVC.</summary>
    Never,

    /// <summary>A scratch PVC every time.</summary>
    Always,

    /// <summary>A scratch PVC only under the entry's condition.</summary>
    Conditional,
}
