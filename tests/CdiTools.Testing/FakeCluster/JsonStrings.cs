using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Strings read from JSON nodes. JsonNode.GetValue&lt;string&gt; throws when the node holds a number,
/// a boolean or an object, and the fake reads what clients sent, so such a value reads as absent.
/// </summary>
internal static class JsonStrings
{
    /// <summary>The string <paramref name="node"/> holds; null when it is absent or not a string.</summary>
    public static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
