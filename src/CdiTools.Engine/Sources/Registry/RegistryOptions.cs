using System.Text;
using CdiTools.Engine.Sources.Http;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>How to reach a container image: the HTTP side (credentials, trust, timeouts), the platform to pick from a multi-arch index, and whether plain HTTP may be used.</summary>
/// <remarks>
/// The credential goes to the registry as basic auth when it asks for basic auth, or to the token
/// service the registry names when it asks for a bearer token, never elsewhere.
/// </remarks>
public sealed record RegistryOptions
{
    public HttpSourceOptions Http { get; init; } = new();

    /// <summary><c>os/arch[/variant]</c> (<c>linux/arm64</c>) or just the architecture; this machine's (<c>linux/amd64</c> on x64) when null.</summary>
    public string? Platform { get; init; }

    /// <summary>
    /// Allows plain HTTP to a registry that does not speak HTTPS, as docker's insecure-registries
    /// and CDI's insecureRegistries do. A registry on this machine (localhost, 127.0.0.0/8, ::1) may
    /// use plain HTTP without it.
    /// </summary>
    public bool AllowInsecureRegistry { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Http = ").Append(Http);
        builder.Append(", Platform = ").Append(Platform ?? "(this machine's)");
        builder.Append(", AllowInsecureRegistry = ").Append(AllowInsecureRegistry);
        return true;
    }
}
