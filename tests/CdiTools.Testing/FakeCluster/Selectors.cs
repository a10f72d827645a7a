using System.Globalization;
using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A parsed <c>labelSelector</c> query: comma-joined requirements, all of which must hold.
/// Hand-written because no .NET package parses Kubernetes' selector grammar; it follows
/// k8s.io/apimachinery's labels.Parse: <c>=</c>, <c>==</c>, <c>!=</c>, <c>in (...)</c>,
/// <c>notin (...)</c>, a bare key (exists), <c>!key</c> (does not exist), and <c>&gt;</c>/<c>&lt;</c> on integers.
/// </summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> requirements = [];

    private LabelSelector()
    {
    }

    public static LabelSelector Everything { get; } = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        var position = 0;
        while (true)
        {
            selector.requirements.Add(ParseRequirement(text, ref position));
            SkipSpaces(text, ref position);
            if (position >= text.Length)
            {
                return selector;
            }

            if (text[position] != ',')
            {
                throw ApiError.BadRequest($"unable to parse requirement: found '{text[position]}', expected: ',' or 'end of string'");
            }

            position++;
        }
    }

    public bool Matches(JsonObject obj)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj["metadata"]?["labels"] is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                labels[key] = value?.GetValue<string>() ?? "";
            }
        }

        return requirements.All(r => r(labels));
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/';

    private static string ReadName(string text, ref int position)
    {
        SkipSpaces(text, ref position);
        var start = position;
        while (position < text.Length && IsNameChar(text[position]))
        {
            position++;
        }

        return text[start..position];
    }

    private static string ReadWord(string text, ref int position)
    {
        SkipSpaces(text, ref position);
        var start = position;
        while (position < text.Length && char.IsAsciiLetter(text[position]))
        {
            position++;
        }

        return text[start..position];
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseRequirement(string text, ref int position)
    {
        SkipSpaces(text, ref position);
        if (position < text.Length && text[position] == '!')
        {
            position++;
            var absent = ReadName(text, ref position);
            if (absent.Length == 0)
            {
                throw ApiError.BadRequest("unable to parse requirement: found '!', expected: identifier");
            }

            return labels => !labels.ContainsKey(absent);
        }

        var key = ReadName(text, ref position);
        if (key.Length == 0)
        {
            throw ApiError.BadRequest($"unable to parse requirement: expected: identifier, found '{(position < text.Length ? text[position] : ' ')}'");
        }

        SkipSpaces(text, ref position);
        if (position >= text.Length || text[position] == ',')
        {
            return labels => labels.ContainsKey(key);
        }

        if (text[position] is '=' or '!')
        {
            var negate = text[position] == '!';
            position++;
            if (position < text.Length && text[position] == '=')
            {
                position++;
            }
            else if (negate)
            {
                throw ApiError.BadRequest("unable to parse requirement: found '!', expected: '='");
            }

            var value = ReadName(text, ref position);
            return negate
                ? labels => !labels.TryGetValue(key, out var actual) || actual != value
                : labels => labels.TryGetValue(key, out var actual) && actual == value;
        }

        if (text[position] is '>' or '<')
        {
            var greater = text[position] == '>';
            position++;
            var bound = ReadName(text, ref position);
            if (!long.TryParse(bound, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit))
            {
                throw ApiError.BadRequest($"unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer");
            }

            return labels => labels.TryGetValue(key, out var actual)
                && long.TryParse(actual, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
                && (greater ? n > limit : n < limit);
        }

        var word = ReadWord(text, ref position);
        if (word is not ("in" or "notin"))
        {
            throw ApiError.BadRequest($"unable to parse requirement: found '{word}', expected: in, notin, =, ==, !=, gt, lt");
        }

        SkipSpaces(text, ref position);
        if (position >= text.Length || text[position] != '(')
        {
            throw ApiError.BadRequest("unable to parse requirement: expected: '('");
        }

        position++;
        var values = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            values.Add(ReadName(text, ref position));
            SkipSpaces(text, ref position);
            if (position >= text.Length)
            {
                throw ApiError.BadRequest("unable to parse requirement: expected: ')'");
            }

            if (text[position] == ')')
            {
                position++;
                break;
            }

            if (text[position] != ',')
            {
                throw ApiError.BadRequest($"unable to parse requirement: found '{text[position]}', expected: ',' or ')'");
            }

            position++;
        }

        return word == "in"
            ? labels => labels.TryGetValue(key, out var actual) && values.Contains(actual)
            : labels => !labels.TryGetValue(key, out var actual) || !values.Contains(actual);
    }
}

/// <summary>
/// A parsed <c>fieldSelector</c>: <c>metadata.name</c> and <c>metadata.namespace</c> with <c>=</c>,
/// <c>==</c>, <c>!=</c>, as custom resources allow, plus the fields the API server indexes for
/// Events (<c>involvedObject.name</c> and the like), which clients use to find an object's events.
/// </summary>
internal sealed class FieldSelector
{
    private static readonly string[] EventFields =
    [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
        "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    ];

    private readonly List<(string Field, string Value, bool Negate)> terms = [];

    private FieldSelector()
    {
    }

    public static FieldSelector Everything { get; } = new();

    /// <summary>The name a single-object watch or list asks for, if that is all it asks.</summary>
    public string? SingleName => terms is [("metadata.name", var name, false)] ? name : null;

    public static FieldSelector Parse(string? text, ApiResource resource)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var term in text.Split(','))
        {
            var negate = term.Contains("!=", StringComparison.Ordinal);
            var parts = term.Split(negate ? "!=" : (term.Contains("==", StringComparison.Ordinal) ? "==" : "="), 2);
            if (parts.Length != 2)
            {
                throw ApiError.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
            }

            var field = parts[0].Trim();
            if (field is not ("metadata.name" or "metadata.namespace") && !(resource.Kind == "Event" && resource.Group.Length == 0 && EventFields.Contains(field)))
            {
                throw ApiError.BadRequest(resource.IsCustom
                    ? $"\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                    : $"field label not supported: {field}");
            }

            selector.terms.Add((field, parts[1].Trim(), negate));
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (field, value, negate) in terms)
        {
            JsonNode? node = obj;
            foreach (var part in (field == "source" ? "source.component" : field).Split('.'))
            {
                node = node?[part];
            }

            var actual = node is JsonValue v && v.TryGetValue<string>(out var text) ? text : "";
            if ((actual == value) == negate)
            {
                return false;
            }
        }

        return true;
    }
}
