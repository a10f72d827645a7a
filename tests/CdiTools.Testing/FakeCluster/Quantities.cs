using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Kubernetes resource quantities held in JSON nodes, read and printed as the API machinery does
/// (apimachinery's resource.Quantity, which KubernetesClient's ResourceQuantity ports): messages
/// that quote quantities show them in Go's canonical form, such as <c>1Gi</c> or <c>1138166334</c>.
/// </summary>
internal static class Quantities
{
    /// <summary>The quantity a node holds (a string, or a bare JSON number), or null when absent or unreadable.</summary>
    public static ResourceQuantity? Parse(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        try
        {
            var text = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
            return new ResourceQuantity(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Whole bytes, rounded up as Quantity.Value() rounds.</summary>
    public static long? Bytes(JsonNode? node)
    {
        try
        {
            return Parse(node)?.ToDecimal() is { } value ? (long)Math.Ceiling(value) : null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>Go's Quantity.String() of <paramref name="value"/> in <paramref name="format"/>.</summary>
    public static string Format(decimal value, ResourceQuantity.SuffixFormat format) => new ResourceQuantity(value, 0, format).ToString();

    /// <summary>A quantity's value and format, as one entry of a ResourceList.</summary>
    public static (decimal Value, ResourceQuantity.SuffixFormat Format)? Entry(JsonNode? node) =>
        Parse(node) is { } quantity ? (quantity.ToDecimal(), quantity.Format) : null;
}
