using System.Text.RegularExpressions;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>Where a container image comes from: a registry (docker://) or an OCI archive file (oci-archive:).</summary>
public enum ContainerImageTransport
{
    Docker,
    OciArchive,
}

/// <summary>
/// A container-disk image reference as CDI's registry source takes it: <c>docker://[host[:port]/]repo[:tag][@sha256:hex]</c>
/// or <c>oci-archive:path.tar</c>. A docker reference without a host is on Docker Hub, and a
/// single-component repository there is under <c>library/</c>, as docker and skopeo read it.
/// </summary>
public sealed partial record ContainerImageReference
{
    /// <summary>Docker Hub's name in references, and the host its registry API is served from.</summary>
    public const string DockerHub = "docker.io";

    private const string DockerHubApiHost = "registry-1.docker.io";

    // Suffixes container-disk repositories carry that say nothing about the disk itself.
    private static readonly string[] ContainerDiskSuffixes = ["-container-disk-demo", "-container-disk", "-containerdisk"];

    private ContainerImageReference()
    {
    }

    public ContainerImageTransport Transport { get; private init; }

    /// <summary>The registry as written (docker.io when none was); null for an archive.</summary>
    public string? Registry { get; private init; }

    /// <summary>The repository path, e.g. <c>library/cirros</c>; null for an archive.</summary>
    public string? Repository { get; private init; }

    /// <summary>The tag; <c>latest</c> when neither a tag nor a digest was given.</summary>
    public string? Tag { get; private init; }

    /// <summary>The manifest digest (<c>sha256:hex</c>) the reference pins, if any; it wins over the tag.</summary>
    public string? Digest { get; private init; }

    /// <summary>The archive file of an oci-archive reference, as written or resolved by the caller.</summary>
    public string? ArchivePath { get; private init; }

    /// <summary>The host and port the registry API is reached at (Docker Hub's differs from its name).</summary>
    public string? ApiHost => Registry == DockerHub ? DockerHubApiHost : Registry;

    /// <summary>The tag or digest to ask the registry's manifest endpoint for.</summary>
    public string? ManifestReference => Digest ?? Tag;

    /// <summary>True when the registry is on this machine, where plain HTTP may be tried after HTTPS, as docker does.</summary>
    public bool IsLoopback
    {
        get
        {
            if (Registry is null)
            {
                return false;
            }

            var host = HostOf(Registry);
            return host == "localhost" || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
        }
    }

    /// <summary>
    /// A name for the disk made from the reference, for output files and DataVolumes: the
    /// repository's last component without container-disk suffixes, and the tag unless it is
    /// <c>latest</c> (quay.io/containerdisks/fedora:40 gives fedora-40); an archive's file name.
    /// </summary>
    public string Name
    {
        get
        {
            if (Transport == ContainerImageTransport.OciArchive)
            {
                var file = Path.GetFileName(ArchivePath!.TrimEnd('/', '\\'));
                return file.Length > 0 ? file : "image";
            }

            var repository = Repository!;
            var name = repository[(repository.LastIndexOf('/') + 1)..];
            foreach (var suffix in ContainerDiskSuffixes)
            {
                if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal))
                {
                    name = name[..^suffix.Length];
                    break;
                }
            }

            return Tag is null or "latest" ? name : $"{name}-{Tag}";
        }
    }

    /// <summary>True for strings this type parses: docker:// and oci-archive: references.</summary>
    public static bool IsContainerImage(string text) =>
        text.StartsWith("docker://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("oci-archive:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a docker:// or oci-archive: reference; a malformed one is refused (RegistryInvalidReference).</summary>
    public static ContainerImageReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("oci-archive:", StringComparison.OrdinalIgnoreCase))
        {
            var path = text["oci-archive:".Length..];

            // oci-archive://name.tar is how a URL spells a relative path; oci-archive:///abs an absolute one.
            if (path.StartsWith("//", StringComparison.Ordinal))
            {
                path = path[2..];
            }

            if (path.Length == 0)
            {
                throw Invalid(text, "it names no archive file");
            }

            return OciArchive(path);
        }

        if (!text.StartsWith("docker://", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid(text, "it is neither docker://... nor oci-archive:...");
        }

        var rest = text["docker://".Length..];
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!DigestPattern().IsMatch(digest))
            {
                throw Invalid(text, digest.StartsWith("sha256:", StringComparison.Ordinal)
                    ? "its digest is not sha256: and 64 lower-case hexadecimal digits"
                    : "only sha256 digests are read");
            }
        }

        string registry;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? rest : rest[..slash];
        if (slash >= 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" || first.Any(char.IsUpper)))
        {
            registry = first;
            rest = rest[(slash + 1)..];
        }
        else
        {
            registry = DockerHub;
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                throw Invalid(text, $"'{tag}' is not a tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')");
            }
        }

        if (!RepositoryPattern().IsMatch(rest))
        {
            throw Invalid(text, $"'{rest}' is not a repository name (lower-case letters and digits, separated by '/', '.', '_' or '-')");
        }

        if (registry == DockerHub && !rest.Contains('/', StringComparison.Ordinal))
        {
            rest = "library/" + rest;
        }

        return new ContainerImageReference
        {
            Transport = ContainerImageTransport.Docker,
            Registry = registry.ToLowerInvariant(),
            Repository = rest,
            Tag = tag ?? (digest is null ? "latest" : null),
            Digest = digest,
        };
    }

    /// <summary>An OCI archive (a tar of an OCI image layout) at <paramref name="path"/>.</summary>
    public static ContainerImageReference OciArchive(string path) => new()
    {
        Transport = ContainerImageTransport.OciArchive,
        ArchivePath = path,
    };

    /// <summary>The same reference with its archive path resolved by the caller (against a PowerShell location, say).</summary>
    public ContainerImageReference WithArchivePath(string path) => this with { ArchivePath = path };

    public override string ToString() => Transport == ContainerImageTransport.OciArchive
        ? $"oci-archive:{ArchivePath}"
        : $"docker://{Registry}/{Repository}{(Tag is null ? string.Empty : ":" + Tag)}{(Digest is null ? string.Empty : "@" + Digest)}";

    private static string HostOf(string registry)
    {
        if (registry.StartsWith('['))
        {
            var end = registry.IndexOf(']', StringComparison.Ordinal);
            return end > 0 ? registry[1..end] : registry;
        }

        var colon = registry.LastIndexOf(':');
        return colon >= 0 ? registry[..colon] : registry;
    }

    private static ImageException Invalid(string text, string why) =>
        new(ImageErrors.RegistryInvalidReference, $"'{text}' is not a container image reference: {why}.");

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    private static partial Regex DigestPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepositoryPattern();
}
