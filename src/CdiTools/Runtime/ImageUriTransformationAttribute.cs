using System.Management.Automation;

namespace CdiTools.Runtime;

/// <summary>
/// Lets -Uri take what docker and skopeo take: <c>docker://cirros@sha256:...</c> names a Docker Hub
/// image by digest, but as a URL its "@" makes "cirros" user information and "sha256:..." a port,
/// which System.Uri refuses. Such a string is given its registry (docker.io) explicitly, which
/// means the same image and parses.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ImageUriTransformationAttribute : ArgumentTransformationAttribute
{
    private const string Docker = "docker://";

    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        if ((inputData is PSObject wrapped ? wrapped.BaseObject : inputData) is not string text
            || !text.StartsWith(Docker, StringComparison.OrdinalIgnoreCase)
            || System.Uri.TryCreate(text, UriKind.Absolute, out _))
        {
            return inputData;
        }

        var rest = text[Docker.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? rest : rest[..slash];
        return first.Contains('@', StringComparison.Ordinal) && System.Uri.TryCreate($"{Docker}docker.io/{rest}", UriKind.Absolute, out var uri)
            ? uri
            : inputData;
    }
}
