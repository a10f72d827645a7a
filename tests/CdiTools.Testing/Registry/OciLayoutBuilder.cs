using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdiTools.Testing.Images;

namespace CdiTools.Testing.Registry;

/// <summary>How a test layer's tar is compressed.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>A blob of a test layout: what a manifest or index refers to.</summary>
public sealed record OciBlob(string MediaType, string Digest, long Size)
{
    public string Hex => Digest["sha256:".Length..];
}

/// <summary>One entry of a test layer: a file from disk or from bytes, an empty file (a whiteout), or a folder.</summary>
public sealed record LayerEntry(string Name, string? SourceFile = null, byte[]? Content = null, bool IsDirectory = false, string? LinkTarget = null, bool IsHardLink = false)
{
    public static LayerEntry File(string name, string sourceFile) => new(name, SourceFile: sourceFile);

    public static LayerEntry Bytes(string name, byte[] content) => new(name, Content: content);

    public static LayerEntry Directory(string name) => new(name, IsDirectory: true);

    /// <summary>An OCI whiteout: an empty file named .wh.NAME beside what it deletes.</summary>
    public static LayerEntry Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return new(slash < 0 ? ".wh." + path : path[..(slash + 1)] + ".wh." + path[(slash + 1)..], Content: []);
    }

    public static LayerEntry Symlink(string name, string target) => new(name, LinkTarget: target);

    public static LayerEntry HardLink(string name, string target) => new(name, LinkTarget: target, IsHardLink: true);
}

/// <summary>
/// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) in a folder, the way
/// image builders do, for skopeo to push to a test registry or pack as an oci-archive.
/// </summary>
public sealed class OciLayoutBuilder
{
    private readonly List<JsonObject> tagged = [];

    public OciLayoutBuilder(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
    }

    public string Directory { get; }

    public OciBlob AddBlob(byte[] bytes, string mediaType)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllBytes(Path.Combine(Directory, "blobs", "sha256", hex), bytes);
        return new OciBlob(mediaType, "sha256:" + hex, bytes.Length);
    }

    public string BlobPath(OciBlob blob) => Path.Combine(Directory, "blobs", "sha256", blob.Hex);

    /// <summary>A layer tar (PAX, as buildkit writes) of <paramref name="entries"/>, compressed as asked.</summary>
    public OciBlob AddLayer(IEnumerable<LayerEntry> entries, LayerCompression compression = LayerCompression.Gzip)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                if (entry.IsDirectory)
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, entry.Name.TrimEnd('/') + "/") { Mode = (UnixFileMode)0x1ED });
                }
                else if (entry.LinkTarget is not null)
                {
                    writer.WriteEntry(new PaxTarEntry(entry.IsHardLink ? TarEntryType.HardLink : TarEntryType.SymbolicLink, entry.Name) { LinkName = entry.LinkTarget });
                }
                else
                {
                    using var data = entry.SourceFile is not null ? (Stream)File.OpenRead(entry.SourceFile) : new MemoryStream(entry.Content!);
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = data, Mode = (UnixFileMode)0x1A4 });
                }
            }
        }

        var bytes = tar.ToArray();
        string mediaType;
        switch (compression)
        {
            case LayerCompression.Gzip:
                var gz = new MemoryStream();
                using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(bytes);
                }

                bytes = gz.ToArray();
                mediaType = "application/vnd.oci.image.layer.v1.tar+gzip";
                break;
            case LayerCompression.Zstd:
                var plain = Path.Combine(Directory, "layer.tmp");
                File.WriteAllBytes(plain, bytes);
                ExternalTool.Run("zstd", "-q", "-f", "-3", plain, "-o", plain + ".zst");
                bytes = File.ReadAllBytes(plain + ".zst");
                File.Delete(plain);
                File.Delete(plain + ".zst");
                mediaType = "application/vnd.oci.image.layer.v1.tar+zstd";
                break;
            default:
                mediaType = "application/vnd.oci.image.layer.v1.tar";
                break;
        }

        return AddBlob(bytes, mediaType);
    }

    /// <summary>A config and manifest over <paramref name="layers"/>. An OCI layout holds OCI media types only; a push can convert them (<see cref="TestRegistry.Push"/>).</summary>
    public OciBlob AddImage(IReadOnlyList<OciBlob> layers, string architecture = "amd64")
    {
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => (JsonNode)JsonValue.Create(l.Digest))]) },
        };
        var configBlob = AddBlob(Encoding.UTF8.GetBytes(config.ToJsonString()), "application/vnd.oci.image.config.v1+json");
        const string manifestType = "application/vnd.oci.image.manifest.v1+json";
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = manifestType,
            ["config"] = Descriptor(configBlob),
            ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)Descriptor(l))]),
        };
        return AddBlob(Encoding.UTF8.GetBytes(manifest.ToJsonString()), manifestType);
    }

    /// <summary>An image index of manifests by platform ("linux/arm64", "linux/arm/v7").</summary>
    public OciBlob AddIndex(IEnumerable<(OciBlob Manifest, string Platform)> manifests)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray([.. manifests.Select(m =>
            {
                var parts = m.Platform.Split('/');
                var descriptor = Descriptor(m.Manifest);
                var platform = new JsonObject { ["os"] = parts[0], ["architecture"] = parts[1] };
                if (parts.Length > 2)
                {
                    platform["variant"] = parts[2];
                }

                descriptor["platform"] = platform;
                return (JsonNode)descriptor;
            })]),
        };
        return AddBlob(Encoding.UTF8.GetBytes(index.ToJsonString()), "application/vnd.oci.image.index.v1+json");
    }

    /// <summary>Names <paramref name="root"/> <paramref name="tag"/> in index.json (what `oci:DIR:TAG` refers to) and writes the layout's files.</summary>
    public void Tag(OciBlob root, string tag)
    {
        var descriptor = Descriptor(root);
        descriptor["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag };
        tagged.Add(descriptor);
        File.WriteAllText(Path.Combine(Directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray([.. tagged.Select(t => t.DeepClone())]),
        };
        File.WriteAllText(Path.Combine(Directory, "index.json"), index.ToJsonString());
    }

    /// <summary>Packs the layout as an oci-archive (a tar of the folder).</summary>
    public string WriteArchive(string path)
    {
        TarFile.CreateFromDirectory(Directory, path, includeBaseDirectory: false);
        return path;
    }

    private static JsonObject Descriptor(OciBlob blob) => new()
    {
        ["mediaType"] = blob.MediaType,
        ["digest"] = blob.Digest,
        ["size"] = blob.Size,
    };

    /// <summary>The layout's index.json, for tests that inspect it.</summary>
    public JsonDocument ReadIndex() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "index.json")));
}
