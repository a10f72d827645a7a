namespace CdiTools.Engine.Sources;

/// <summary>
/// A range [<see cref="Start"/>, <see cref="End"/>) of a source that holds stored bytes; what lies
/// between two such ranges is a hole, which reads as zeros without being stored or transferred.
/// </summary>
public readonly record struct DataRange(long Start, long End)
{
    public long Length => End - Start;

    public bool IsEmpty => End <= Start;
}
