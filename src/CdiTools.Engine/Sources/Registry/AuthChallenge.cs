using System.Text;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// One WWW-Authenticate challenge of a registry: <c>Basic realm="..."</c>, or
/// <c>Bearer realm="https://auth.example/token",service="...",scope="repository:x:pull"</c>, which
/// names the token service to ask and what to ask it for.
/// </summary>
internal sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? Realm => Parameters.GetValueOrDefault("realm");

    public string? Service => Parameters.GetValueOrDefault("service");

    public string? Scope => Parameters.GetValueOrDefault("scope");

    /// <summary>
    /// Parses the challenges of a response. The header parser splits them by scheme; the parameter
    /// list (quoted strings with backslash escapes, commas inside quotes) is parsed here.
    /// </summary>
    public static IReadOnlyList<AuthChallenge> From(HttpResponseMessage response) =>
        [.. response.Headers.WwwAuthenticate.Select(h => new AuthChallenge(h.Scheme, ParseParameters(h.Parameter)))];

    public static IReadOnlyDictionary<string, string> ParseParameters(string? text)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(text))
        {
            return parameters;
        }

        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var nameStart = i;
            while (i < text.Length && text[i] != '=' && text[i] != ',')
            {
                i++;
            }

            var name = text[nameStart..i].Trim();
            if (i >= text.Length || text[i] != '=')
            {
                // A token68 or a bare word: nothing a registry sends that matters here.
                continue;
            }

            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i]);
                    i++;
                }

                i++;
            }
            else
            {
                while (i < text.Length && text[i] != ',')
                {
                    value.Append(text[i]);
                    i++;
                }
            }

            if (name.Length > 0)
            {
                parameters[name] = value.ToString().Trim();
            }
        }

        return parameters;
    }
}
