using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Numbers read from JSON nodes whatever their origin: a parsed node holds JSON text, a node
/// built in code holds an int, long or double, and JsonValue.GetValue converts between none of them.
/// </summary>
internal static class JsonNumbers
{
    public static bool TryGetDouble(JsonNode? node, out double value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    public static bool IsIntegral(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && (long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                || (TryGetDouble(v, out var d) && Math.Floor(d) == d && !double.IsInfinity(d)));

    public static long AsLong(JsonNode? node, long fallback = 0) =>
        TryGetDouble(node, out var d) ? (long)d : fallback;

    public static double AsDouble(JsonNode? node) => TryGetDouble(node, out var d) ? d : 0;
}

/// <summary>How the fake writes JSON: unescaped quotes and non-ASCII text, as Go's encoder leaves them, so messages read as the API server's do.</summary>
internal static class JsonOutput
{
    public static JsonSerializerOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Text(JsonNode node) => node.ToJsonString(Options);
}
