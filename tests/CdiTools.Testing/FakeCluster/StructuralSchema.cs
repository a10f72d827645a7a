using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A CRD's openAPIV3Schema applied the way the API server applies structural schemas: prune fields
/// the schema does not declare (reporting them for strict field validation), drop nulls of
/// non-nullable fields, fill defaults, then validate values.
/// </summary>
/// <remarks>
/// Written here rather than taken from a JSON Schema library because the semantics are
/// Kubernetes' own, not JSON Schema's: undeclared fields are pruned instead of allowed,
/// <c>x-kubernetes-int-or-string</c>, <c>x-kubernetes-preserve-unknown-fields</c> and
/// <c>x-kubernetes-embedded-resource</c> change what is known, <c>metadata</c> follows ObjectMeta
/// and not the schema, and the errors must carry the API server's field paths and wording
/// (<c>spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer"</c>).
/// CEL rules (<c>x-kubernetes-validations</c>) are not evaluated.
/// </remarks>
internal sealed class StructuralSchema
{
    private static readonly HashSet<string> ObjectMetaFields =
    [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    ];

    private readonly JsonObject root;
    private readonly Dictionary<string, Regex> patterns = new(StringComparer.Ordinal);

    public StructuralSchema(JsonObject openApiV3Schema) => root = openApiV3Schema;

    /// <summary>
    /// Prunes undeclared fields (returned as paths such as <c>spec.config.foo</c>), non-nullable
    /// nulls without defaults, and applies defaults; changes <paramref name="obj"/> in place.
    /// </summary>
    public IReadOnlyList<string> PruneAndDefault(JsonObject obj)
    {
        var unknown = new List<string>();
        foreach (var (key, value) in obj.ToList())
        {
            if (key == "metadata")
            {
                if (value is JsonObject metadata)
                {
                    foreach (var field in metadata.Select(p => p.Key).ToList())
                    {
                        if (!ObjectMetaFields.Contains(field))
                        {
                            unknown.Add("metadata." + field);
                            metadata.Remove(field);
                        }
                    }
                }

                continue;
            }

            if (key is "apiVersion" or "kind")
            {
                continue;
            }

            var schema = PropertySchema(root, key);
            if (schema is null)
            {
                if (!PreservesUnknown(root))
                {
                    unknown.Add(key);
                    obj.Remove(key);
                }

                continue;
            }

            Prune(value, schema, key, unknown);
        }

        PruneNulls(obj, root);
        ApplyDefaults(obj, root);
        return unknown;
    }

    /// <summary>Validates values against the schema; metadata is checked as ObjectMeta.</summary>
    public IReadOnlyList<FieldError> Validate(JsonObject obj)
    {
        var errors = new List<FieldError>();
        foreach (var (key, value) in obj)
        {
            if (key == "metadata")
            {
                ValidateMetadata(value, errors);
                continue;
            }

            if (PropertySchema(root, key) is { } schema)
            {
                ValidateNode(value, schema, key, errors);
            }
        }

        if (root["required"] is JsonArray required)
        {
            foreach (var name in required.Select(r => r!.GetValue<string>()))
            {
                if (!obj.ContainsKey(name))
                {
                    errors.Add(FieldError.Required(name));
                }
            }
        }

        return errors;
    }

    private static bool PreservesUnknown(JsonObject schema) => schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;

    private static bool IsEmbedded(JsonObject schema) => schema["x-kubernetes-embedded-resource"]?.GetValue<bool>() == true;

    private static JsonObject? PropertySchema(JsonObject schema, string key)
    {
        if (schema["properties"] is JsonObject properties && properties[key] is JsonObject property)
        {
            return property;
        }

        return schema["additionalProperties"] as JsonObject;
    }

    private static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static void Prune(JsonNode? node, JsonObject schema, string path, List<string> unknown)
    {
        switch (node)
        {
            case JsonObject obj:
                var preserve = PreservesUnknown(schema);
                var embedded = IsEmbedded(schema);
                foreach (var (key, value) in obj.ToList())
                {
                    if (embedded && key is "apiVersion" or "kind" or "metadata")
                    {
                        continue;
                    }

                    var child = PropertySchema(schema, key);
                    if (child is null)
                    {
                        if (!preserve)
                        {
                            unknown.Add(Child(path, key));
                            obj.Remove(key);
                        }

                        continue;
                    }

                    Prune(value, child, Child(path, key), unknown);
                }

                break;
            case JsonArray array when schema["items"] is JsonObject items:
                for (var i = 0; i < array.Count; i++)
                {
                    Prune(array[i], items, $"{path}[{i}]", unknown);
                }

                break;
        }
    }

    private static void PruneNulls(JsonNode? node, JsonObject? schema)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    var child = schema is null ? null : PropertySchema(schema, key);
                    if (value is null && child is not null && child["nullable"]?.GetValue<bool>() != true && child["default"] is null)
                    {
                        obj.Remove(key);
                    }
                    else
                    {
                        PruneNulls(value, child);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    PruneNulls(item, schema?["items"] as JsonObject);
                }

                break;
        }
    }

    private static void ApplyDefaults(JsonNode? node, JsonObject? schema)
    {
        if (schema is null)
        {
            return;
        }

        switch (node)
        {
            case JsonObject obj:
                if (schema["properties"] is JsonObject properties)
                {
                    foreach (var (key, property) in properties)
                    {
                        if (property?["default"] is { } value && (!obj.TryGetPropertyValue(key, out var current) || current is null))
                        {
                            obj[key] = value.DeepClone();
                        }
                    }
                }

                foreach (var (key, value) in obj.ToList())
                {
                    ApplyDefaults(value, PropertySchema(schema, key));
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    ApplyDefaults(item, schema["items"] as JsonObject);
                }

                break;
        }
    }

    private static string TypeOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => JsonNumbers.IsIntegral(v) ? "integer" : "number",
            _ => "null",
        },
        _ => "null",
    };

    private static bool HasType(JsonNode? node, string type)
    {
        var actual = TypeOf(node);
        return type switch
        {
            "number" => actual is "number" or "integer",
            _ => actual == type,
        };
    }

    /// <summary>ObjectMeta's types, which hold for every kind, built-in or custom.</summary>
    internal static void ValidateMetadata(JsonNode? metadata, List<FieldError> errors)
    {
        if (metadata is not JsonObject meta)
        {
            errors.Add(FieldError.TypeInvalid("metadata", TypeOf(metadata), $"metadata in body must be of type object: \"{TypeOf(metadata)}\""));
            return;
        }

        foreach (var scalar in new[] { "name", "generateName", "namespace", "resourceVersion", "uid" })
        {
            if (meta[scalar] is { } value && TypeOf(value) != "string")
            {
                errors.Add(FieldError.TypeInvalid($"metadata.{scalar}", TypeOf(value), $"metadata.{scalar} in body must be of type string: \"{TypeOf(value)}\""));
            }
        }

        foreach (var map in new[] { "labels", "annotations" })
        {
            if (!meta.TryGetPropertyValue(map, out var value) || value is null)
            {
                continue;
            }

            if (value is not JsonObject entries)
            {
                errors.Add(FieldError.TypeInvalid($"metadata.{map}", TypeOf(value), $"metadata.{map} in body must be of type object: \"{TypeOf(value)}\""));
                continue;
            }

            foreach (var (key, entry) in entries)
            {
                if (TypeOf(entry) != "string")
                {
                    errors.Add(FieldError.TypeInvalid($"metadata.{map}.{key}", TypeOf(entry), $"metadata.{map}.{key} in body must be of type string: \"{TypeOf(entry)}\""));
                }
            }
        }

        if (meta["finalizers"] is { } finalizers && finalizers is not JsonArray)
        {
            errors.Add(FieldError.TypeInvalid("metadata.finalizers", TypeOf(finalizers), $"metadata.finalizers in body must be of type array: \"{TypeOf(finalizers)}\""));
        }
    }

    private void ValidateNode(JsonNode? node, JsonObject schema, string path, List<FieldError> errors)
    {
        if (node is null)
        {
            if (schema["nullable"]?.GetValue<bool>() == true)
            {
                return;
            }

            if (schema["type"] is JsonValue nullType)
            {
                errors.Add(FieldError.TypeInvalid(path, "null", $"{path} in body must be of type {nullType.GetValue<string>()}: \"null\""));
                return;
            }
        }

        if (schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true)
        {
            var actual = TypeOf(node);
            if (actual is not ("integer" or "string"))
            {
                errors.Add(FieldError.TypeInvalid(path, actual, $"{path} in body must be of type integer,string: \"{actual}\""));
                return;
            }
        }
        else if (schema["type"] is JsonValue typeValue)
        {
            var type = typeValue.GetValue<string>();
            if (!HasType(node, type))
            {
                var actual = TypeOf(node);
                errors.Add(FieldError.TypeInvalid(path, actual, $"{path} in body must be of type {type}: \"{actual}\""));
                return;
            }
        }

        ValidateValue(node, schema, path, errors);
        ValidateCombinators(node, schema, path, errors);

        switch (node)
        {
            case JsonObject obj:
                if (schema["required"] is JsonArray required)
                {
                    foreach (var name in required.Select(r => r!.GetValue<string>()))
                    {
                        if (!obj.ContainsKey(name))
                        {
                            errors.Add(FieldError.Required(Child(path, name)));
                        }
                    }
                }

                var embedded = IsEmbedded(schema);
                foreach (var (key, value) in obj)
                {
                    if (embedded && key == "metadata")
                    {
                        continue;
                    }

                    if (PropertySchema(schema, key) is { } child)
                    {
                        ValidateNode(value, child, Child(path, key), errors);
                    }
                }

                break;
            case JsonArray array:
                if (schema["items"] is JsonObject items)
                {
                    for (var i = 0; i < array.Count; i++)
                    {
                        ValidateNode(array[i], items, $"{path}[{i}]", errors);
                    }
                }

                ValidateListType(array, schema, path, errors);
                break;
        }
    }

    private void ValidateValue(JsonNode? node, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, node)))
        {
            errors.Add(FieldError.NotSupported(path, node, allowed.Select(a => a is JsonValue v && v.TryGetValue<string>(out var s) ? s : a?.ToJsonString() ?? "null")));
        }

        if (node is JsonValue value && value.TryGetValue<string>(out var text))
        {
            if (schema["maxLength"] is JsonValue maxLength && text.Length > JsonNumbers.AsLong(maxLength))
            {
                errors.Add(FieldError.TooLong(path, JsonNumbers.AsLong(maxLength)));
            }

            if (schema["minLength"] is JsonValue minLength && text.Length < JsonNumbers.AsLong(minLength))
            {
                errors.Add(FieldError.Invalid(path, value, $"{path} in body should be at least {JsonNumbers.AsLong(minLength)} chars long"));
            }

            if (schema["pattern"] is JsonValue pattern && !Pattern(pattern.GetValue<string>()).IsMatch(text))
            {
                errors.Add(FieldError.Invalid(path, value, $"{path} in body should match '{pattern.GetValue<string>()}'"));
            }

            if (schema["format"]?.GetValue<string>() == "date-time" && !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
            {
                errors.Add(FieldError.Invalid(path, value, $"{path} in body must be of type date-time: \"{text}\""));
            }
        }

        if (node is JsonValue number && number.GetValueKind() == JsonValueKind.Number)
        {
            var n = JsonNumbers.AsDouble(number);
            if (schema["minimum"] is JsonValue minimum)
            {
                var min = JsonNumbers.AsDouble(minimum);
                var exclusive = schema["exclusiveMinimum"]?.GetValue<bool>() == true;
                if (exclusive ? n <= min : n < min)
                {
                    errors.Add(FieldError.Invalid(path, number, $"{path} in body should be greater than {(exclusive ? "" : "or equal to ")}{Format(min)}"));
                }
            }

            if (schema["maximum"] is JsonValue maximum)
            {
                var max = JsonNumbers.AsDouble(maximum);
                var exclusive = schema["exclusiveMaximum"]?.GetValue<bool>() == true;
                if (exclusive ? n >= max : n > max)
                {
                    errors.Add(FieldError.Invalid(path, number, $"{path} in body should be less than {(exclusive ? "" : "or equal to ")}{Format(max)}"));
                }
            }
        }

        if (node is JsonArray array)
        {
            if (schema["maxItems"] is JsonValue maxItems && array.Count > JsonNumbers.AsLong(maxItems))
            {
                errors.Add(FieldError.TooMany(path, array.Count, JsonNumbers.AsLong(maxItems)));
            }

            if (schema["minItems"] is JsonValue minItems && array.Count < JsonNumbers.AsLong(minItems))
            {
                errors.Add(FieldError.Invalid(path, JsonValue.Create(array.Count), $"{path} in body should have at least {JsonNumbers.AsLong(minItems)} items"));
            }
        }

        if (node is JsonObject obj)
        {
            if (schema["maxProperties"] is JsonValue maxProperties && obj.Count > JsonNumbers.AsLong(maxProperties))
            {
                errors.Add(FieldError.TooMany(path, obj.Count, JsonNumbers.AsLong(maxProperties)));
            }

            if (schema["minProperties"] is JsonValue minProperties && obj.Count < JsonNumbers.AsLong(minProperties))
            {
                errors.Add(FieldError.Invalid(path, JsonValue.Create(obj.Count), $"{path} in body should have at least {JsonNumbers.AsLong(minProperties)} properties"));
            }
        }
    }

    private void ValidateCombinators(JsonNode? node, JsonObject schema, string path, List<FieldError> errors)
    {
        // In structural schemas these carry value validations only; int-or-string's anyOf of
        // types was already checked above, so only other anyOf forms are looked at here.
        if (schema["allOf"] is JsonArray allOf)
        {
            foreach (var part in allOf.OfType<JsonObject>())
            {
                ValidateNode(node, part, path, errors);
            }
        }

        if (schema["anyOf"] is JsonArray anyOf && schema["x-kubernetes-int-or-string"]?.GetValue<bool>() != true
            && !anyOf.OfType<JsonObject>().Any(part => Passes(node, part, path)))
        {
            errors.Add(FieldError.Invalid(path, node, $"{path} in body must validate at least one schema (anyOf)"));
        }

        if (schema["oneOf"] is JsonArray oneOf && oneOf.OfType<JsonObject>().Count(part => Passes(node, part, path)) != 1)
        {
            errors.Add(FieldError.Invalid(path, node, $"{path} in body must validate one and only one schema (oneOf)"));
        }

        if (schema["not"] is JsonObject not && Passes(node, not, path))
        {
            errors.Add(FieldError.Invalid(path, node, $"{path} in body must not validate the schema (not)"));
        }
    }

    private bool Passes(JsonNode? node, JsonObject schema, string path)
    {
        var trial = new List<FieldError>();
        ValidateNode(node, schema, path, trial);
        return trial.Count == 0;
    }

    private static void ValidateListType(JsonArray array, JsonObject schema, string path, List<FieldError> errors)
    {
        var listType = schema["x-kubernetes-list-type"]?.GetValue<string>();
        if (listType == "set")
        {
            for (var i = 0; i < array.Count; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    if (JsonNode.DeepEquals(array[i], array[j]))
                    {
                        errors.Add(FieldError.Duplicate($"{path}[{i}]", array[i]));
                        break;
                    }
                }
            }
        }
        else if (listType == "map" && schema["x-kubernetes-list-map-keys"] is JsonArray keys)
        {
            var names = keys.Select(k => k!.GetValue<string>()).ToList();
            var seen = new List<JsonObject>();
            for (var i = 0; i < array.Count; i++)
            {
                if (array[i] is not JsonObject item)
                {
                    continue;
                }

                var key = new JsonObject();
                foreach (var name in names)
                {
                    key[name] = item[name]?.DeepClone();
                }

                if (seen.Any(s => JsonNode.DeepEquals(s, key)))
                {
                    errors.Add(FieldError.Duplicate($"{path}[{i}]", key));
                }

                seen.Add(key);
            }
        }
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    private Regex Pattern(string pattern)
    {
        lock (patterns)
        {
            if (!patterns.TryGetValue(pattern, out var regex))
            {
                // Go's RE2 and .NET agree on the character classes and anchors CRD patterns use.
                regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                patterns[pattern] = regex;
            }

            return regex;
        }
    }
}
