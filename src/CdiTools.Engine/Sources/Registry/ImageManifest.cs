using System.Buffers;
using System.Text.Json;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>A content descriptor of the OCI image spec: what a blob or manifest is, its digest and size.</summary>
internal sealed record Descriptor(string MediaType, string Digest, long Size, string? Os = null, string? Architecture = null, string? Variant = null, string? RefName = null)
{
    public string Platform => Architecture is null ? "no platform" : Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>A digest short enough for messages, long enough to tell blobs apart.</summary>
    public string ShortDigest => Digest.Length > 19 ? Digest[..19] + "…" : Digest;
}

/// <summary>The media types of the Docker v2 schema 2 and OCI image specs that matter here.</summary>
internal static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>What a manifest request accepts, best first.</summary>
    public const string ManifestAccept = $"{OciIndex}, {DockerManifestList}, {OciManifest}, {DockerManifest}";

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    /// <summary>Filesystem layers: tar, possibly gzip or zstd (the decoder goes by the bytes' magic, not the name).</summary>
    public static bool IsLayer(string mediaType) => mediaType is
        "application/vnd.oci.image.layer.v1.tar"
        or "application/vnd.oci.image.layer.v1.tar+gzip"
        or "application/vnd.oci.image.layer.v1.tar+zstd"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        or "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
        or "application/vnd.docker.image.rootfs.diff.tar.gzip"
        or "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        or "application/vnd.docker.image.rootfs.diff.tar";
}

/// <summary>A manifest or index as read: which it is, and its descriptors.</summary>
internal sealed record ImageManifest(string MediaType, string Digest, Descriptor? Config, IReadOnlyList<Descriptor> Layers, IReadOnlyList<Descriptor> Manifests)
{
    /// <summary>The most a manifest or index may weigh: the distribution spec lets registries refuse more than 4 MiB.</summary>
    public const int MaxBytes = 4 << 20;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    public bool IsIndex => MediaTypes.IsIndex(MediaType);

    /// <summary>
    /// Parses <paramref name="body"/>. The media type comes from the document, else from what the
    /// server or the referring descriptor said, else from its shape (OCI lets manifests omit it).
    /// </summary>
    public static ImageManifest Parse(byte[] body, string? declaredMediaType, string digest, string what)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The {what} is not valid JSON: {e.Message}", innerException: e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The {what} is not a JSON object.");
            }

            var mediaType = String(root, "mediaType");
            if (string.IsNullOrEmpty(mediaType))
            {
                mediaType = declaredMediaType is { Length: > 0 } declared && declared != "application/json" && !declared.StartsWith("text/", StringComparison.Ordinal)
                    ? declared
                    : root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
                    : root.TryGetProperty("layers", out _) ? MediaTypes.OciManifest
                    : root.TryGetProperty("fsLayers", out _) ? MediaTypes.DockerSchema1
                    : declaredMediaType ?? "(none)";
            }

            if (mediaType is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed)
            {
                throw new ImageException(ImageErrors.RegistryUnsupportedMediaType, $"The {what} is a Docker schema 1 manifest, which registries deprecated in 2019; push the image again with a current client.");
            }

            if (MediaTypes.IsIndex(mediaType))
            {
                return new ImageManifest(mediaType, digest, null, [], Descriptors(root, "manifests", what));
            }

            if (MediaTypes.IsManifest(mediaType))
            {
                if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
                {
                    throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The {what} has no config descriptor.");
                }

                return new ImageManifest(mediaType, digest, ToDescriptor(config, what), Descriptors(root, "layers", what), []);
            }

            throw new ImageException(ImageErrors.RegistryUnsupportedMediaType, $"The {what} is of media type '{mediaType}', which is neither an image manifest nor an index (OCI or Docker v2 schema 2).");
        }
    }

    private static List<Descriptor> Descriptors(JsonElement root, string property, string what)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The {what} has no '{property}' list.");
        }

        return [.. array.EnumerateArray().Select(e => ToDescriptor(e, what))];
    }

    private static Descriptor ToDescriptor(JsonElement element, string what)
    {
        var digest = String(element, "digest");
        if (element.ValueKind != JsonValueKind.Object || digest is null || !element.TryGetProperty("size", out var sizeElement) || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The {what} has a descriptor without a digest or a size.");
        }

        if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || digest.AsSpan(7).ContainsAnyExcept(LowerHex))
        {
            throw new ImageException(ImageErrors.RegistryUnsupportedDigest, $"The {what} refers to '{digest}'; only sha256 digests are verified, so only they are read.");
        }

        string? os = null, architecture = null, variant = null, refName = null;
        if (element.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.Object)
        {
            os = String(platform, "os");
            architecture = String(platform, "architecture");
            variant = String(platform, "variant");
        }

        if (element.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object)
        {
            refName = String(annotations, "org.opencontainers.image.ref.name");
        }

        return new Descriptor(String(element, "mediaType") ?? string.Empty, digest, size, os, architecture, variant, refName);
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
