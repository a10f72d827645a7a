using System.Text.Json;

namespace CdiTools.Cluster.Models;

/// <summary>
/// What a DELETE did. The API server answers either with a Status of success (the object is gone;
/// custom resources, Secrets and ConfigMaps answer so) or with the object itself: gone too where
/// the registry returns deleted objects, or still there with a deletionTimestamp while finalizers
/// hold it back.
/// </summary>
/// <param name="Found">False when there was nothing to delete (404).</param>
/// <param name="PendingFinalizers">The finalizers that still hold the object; empty once it is gone.</param>
public sealed record DeleteOutcome(bool Found, IReadOnlyList<string> PendingFinalizers)
{
    public static DeleteOutcome NotFound { get; } = new(false, []);

    /// <summary>True while finalizers keep the object.</summary>
    public bool Pending => PendingFinalizers.Count > 0;

    /// <summary>Reads the API server's answer to a DELETE, whichever of the two it is.</summary>
    public static DeleteOutcome FromAnswer(object? answer)
    {
        if (answer is not JsonElement { ValueKind: JsonValueKind.Object } body
            || (body.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "Status")
            || !body.TryGetProperty("metadata", out var metadata)
            || !metadata.TryGetProperty("deletionTimestamp", out var marked) || marked.ValueKind == JsonValueKind.Null)
        {
            return new(true, []);
        }

        var finalizers = metadata.TryGetProperty("finalizers", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!).ToList()
            : [];

        // Marked with no finalizer left means the server is about to remove it.
        return new(true, finalizers);
    }
}
