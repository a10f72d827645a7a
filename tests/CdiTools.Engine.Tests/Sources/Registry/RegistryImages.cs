using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;
using CdiTools.Testing;
using CdiTools.Testing.Images;
using CdiTools.Testing.Registry;

namespace CdiTools.Engine.Tests.Sources.Registry;

/// <summary>
/// Container disks built once for the registry tests: two qcow2 disks with qemu-img's raw
/// conversion as the expected result, and an OCI layout holding every image the tests pull, pushed
/// to one plain-HTTP registry.
/// </summary>
public sealed class RegistryImages : IDisposable
{
    public RegistryImages()
    {
        Folder = new TemporaryDirectory();
        DiskA = MakeDisk("a", 6 << 20, seed: 11);
        DiskB = MakeDisk("b", 5 << 20, seed: 12);
        ShaA = Qemu.ConvertToRaw(DiskA, Folder.Path).Sha256;
        ShaB = Qemu.ConvertToRaw(DiskB, Folder.Path).Sha256;
        Layout = new OciLayoutBuilder(Folder.File("layout"));

        Add("plain", "gzip", Layout.AddImage([Layout.AddLayer(DiskLayer(DiskA), LayerCompression.Gzip)]));
        Add("plain", "zstd", Layout.AddImage([Layout.AddLayer(DiskLayer(DiskA), LayerCompression.Zstd)]));
        Add("plain", "none", Layout.AddImage([Layout.AddLayer(DiskLayer(DiskA), LayerCompression.None)]));
        PlainGzipManifest = Images["plain:gzip"];

        Add("multi", "v1", Layout.AddIndex([
            (Layout.AddImage([Layout.AddLayer(DiskLayer(DiskA))], "amd64"), "linux/amd64"),
            (Layout.AddImage([Layout.AddLayer(DiskLayer(DiskB))], "arm64"), "linux/arm64/v8"),
        ]));

        // A disk replaced by a later layer: the old one deleted by a whiteout, the new one added on top.
        Add("layers", "whiteout", Layout.AddImage([
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/old.qcow2", DiskB), LayerEntry.Bytes("etc/hostname", "base\n"u8.ToArray())]),
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.Whiteout("disk/old.qcow2")], LayerCompression.Zstd),
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/disk.qcow2", DiskA)], LayerCompression.None),
        ]));

        // The disk in the first layer, a later layer changing something else.
        Add("layers", "lower", Layout.AddImage([
            Layout.AddLayer(DiskLayer(DiskA)),
            Layout.AddLayer([LayerEntry.Bytes("etc/motd", "hello\n"u8.ToArray())]),
        ]));

        // An opaque disk/ hides the lower layer's file; the same name in an upper layer replaces a lower one.
        Add("layers", "opaque", Layout.AddImage([
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/old.qcow2", DiskB), LayerEntry.File("disk/disk.qcow2", DiskB)]),
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.Bytes("disk/.wh..wh..opq", []), LayerEntry.File("disk/disk.qcow2", DiskA)]),
        ]));
        Add("layers", "replaced", Layout.AddImage([
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/disk.qcow2", DiskB)]),
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/disk.qcow2", DiskA)]),
        ]));

        Add("layers", "ambiguous", Layout.AddImage([
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/b.qcow2", DiskB)]),
            Layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/a.qcow2", DiskA)]),
        ]));
        Add("layers", "deleted", Layout.AddImage([
            Layout.AddLayer(DiskLayer(DiskA)),
            Layout.AddLayer([LayerEntry.Whiteout("disk")]),
        ]));
        Add("nodisk", "v1", Layout.AddImage([Layout.AddLayer([LayerEntry.Bytes("etc/hostname", "x\n"u8.ToArray()), LayerEntry.File("images/disk.qcow2", DiskA)])]));

        // Its own layer (the marker file makes the blob unique), so tampering with it touches no other image.
        TamperLayer = Layout.AddLayer([.. DiskLayer(DiskA), LayerEntry.Bytes("etc/tamper", "1\n"u8.ToArray())], LayerCompression.None);
        Add("tamper", "v1", Layout.AddImage([TamperLayer]));

        Registry = TestRegistry.Start();
        foreach (var (name, _) in Images)
        {
            Registry.Push(Layout, LayoutTag(name), "test/" + name);
        }

        // An OCI layout holds OCI manifests only; skopeo writes the Docker media types on the way.
        Registry.Push(Layout, LayoutTag("plain:gzip"), "test/plain:docker", dockerFormat: true);
    }

    public TemporaryDirectory Folder { get; }

    public string DiskA { get; }

    public string DiskB { get; }

    /// <summary>The SHA-256 of `qemu-img convert -O raw` of disk A.</summary>
    public string ShaA { get; }

    public string ShaB { get; }

    public OciLayoutBuilder Layout { get; }

    public OciBlob PlainGzipManifest { get; }

    public OciBlob TamperLayer { get; }

    public TestRegistry Registry { get; }

    /// <summary>"repo:tag" (the repository under test/) to the manifest or index pushed there.</summary>
    public Dictionary<string, OciBlob> Images { get; } = [];

    public static RegistryOptions Options(string? platform = null) => new()
    {
        Http = new HttpSourceOptions { Timeout = TimeSpan.FromSeconds(30), RetryCount = 1 },
        Platform = platform,
    };

    public static LayerEntry[] DiskLayer(string disk) => [LayerEntry.Directory("disk"), LayerEntry.File("disk/disk.qcow2", disk)];

    public ImageLocation Location(string image, string? platform = null) =>
        ImageLocation.Container(ContainerImageReference.Parse($"docker://{Registry.Host}/test/{image}"), Options(platform));

    /// <summary>Converts <paramref name="location"/> to a raw file in a fresh folder and returns its SHA-256 and the result.</summary>
    public static async Task<(string Sha256, ImportResult Result)> ConvertAsync(ImageLocation location, TemporaryDirectory output)
    {
        var destination = output.File("disk.raw");
        var result = await LocalImport.ToFileAsync(location, destination, new ImageOpenOptions(), overwrite: false, computeSha256: false, null, CancellationToken.None);
        return (DiskContent.Sha256(destination), result);
    }

    public void Dispose()
    {
        Registry.Dispose();
        Folder.Dispose();
    }

    private void Add(string repository, string tag, OciBlob root)
    {
        Images[$"{repository}:{tag}"] = root;
        Layout.Tag(root, LayoutTag($"{repository}:{tag}"));
    }

    /// <summary>The name an image has in the layout, where tags of all repositories share one index.json.</summary>
    public static string LayoutTag(string image) => image.Replace(':', '-');

    private string MakeDisk(string name, long size, int seed)
    {
        var raw = Folder.File(name + ".raw");
        DiskContent.WriteMixed(raw, size, seed);
        var qcow2 = Folder.File(name + ".qcow2");
        Qemu.ConvertFromRaw(raw, qcow2, "qcow2");
        File.Delete(raw);
        return qcow2;
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryTestSet : ICollectionFixture<RegistryImages>
{
    public const string Name = "Registry";
}
