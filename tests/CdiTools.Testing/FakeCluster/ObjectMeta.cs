using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>The metadata the fake's controllers read and write on the objects they handle.</summary>
internal static class ObjectMeta
{
    /// <summary>The annotation's value; null when it is absent or not a string.</summary>
    public static string? Annotation(JsonObject obj, string key) => JsonStrings.Text(obj["metadata"]?["annotations"]?[key]);

    /// <summary>Sets an annotation on <paramref name="obj"/>, adding the annotations map if it has none.</summary>
    public static void SetAnnotation(JsonObject obj, string key, string value)
    {
        var meta = (JsonObject)obj["metadata"]!;
        var annotations = meta["annotations"] as JsonObject ?? [];
        meta["annotations"] = annotations;
        annotations[key] = value;
    }

    /// <summary>Whether the object is being deleted: it has a deletionTimestamp and waits for its finalizers.</summary>
    public static bool IsDeleting(JsonObject obj) => obj["metadata"]?["deletionTimestamp"] is not null;
}
