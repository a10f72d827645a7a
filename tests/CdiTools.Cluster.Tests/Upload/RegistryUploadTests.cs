using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Cluster.Upload;
using CdiTools.Engine;
using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;
using CdiTools.Testing.FakeCluster;
using CdiTools.Testing.Images;
using CdiTools.Testing.Registry;

namespace CdiTools.Cluster.Tests.Upload;

/// <summary>A container disk from a real registry uploaded through the fake cluster's upload proxy: sized, named and converted like any other source.</summary>
public sealed class RegistryUploadTests : FakeClusterHarness
{
    protected override FakeClusterOptions Options => new() { DataVolumeStepDelay = TimeSpan.FromMilliseconds(20) };

    [Fact]
    public async Task A_container_disk_lands_as_qemu_img_s_raw_in_a_DataVolume_named_from_the_repository()
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", isDefault: true, volumeBindingMode: "Immediate");
        Server.InstallCdi();
        var proxy = await Server.StartUploadProxyAsync(new FakeUploadProxyOptions { ReadyPollInterval = TimeSpan.FromMilliseconds(50), AsyncCompletionDelay = TimeSpan.FromMilliseconds(20) });
        var raw = Folder.File("disk.raw");
        DiskContent.WriteMixed(raw, 8L << 20, seed: 5);
        var qcow2 = Folder.File("disk.qcow2");
        Qemu.ConvertFromRaw(raw, qcow2, "qcow2");
        var expected = Qemu.ConvertToRaw(qcow2, Folder.Path);
        var layout = new OciLayoutBuilder(Folder.File("layout"));
        layout.Tag(layout.AddImage([layout.AddLayer([LayerEntry.Directory("disk"), LayerEntry.File("disk/disk.qcow2", qcow2)], LayerCompression.Zstd)]), "v2");
        using var registry = TestRegistry.Start();
        registry.Push(layout, "v2", "kubevirt/cirros-container-disk-demo:v2");
        var source = ImageLocation.Container(
            ContainerImageReference.Parse($"docker://{registry.Host}/kubevirt/cirros-container-disk-demo:v2"),
            new RegistryOptions { Http = new HttpSourceOptions { Timeout = TimeSpan.FromSeconds(30), RetryCount = 1 } });
        var name = DataVolumeNames.FromImage(source.Name)!;
        var service = new ImageUploadService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File("kc"), "fake", "vms")))))
        {
            Backoff = _ => TimeSpan.FromMilliseconds(50),
        };

        var result = await service.UploadAsync(new ImageUploadRequest { Source = source, Name = name, Timeout = TimeSpan.FromSeconds(30) }, _ => { }, _ => { }, default);

        Assert.Equal("cirros-v2", name);
        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.Equal(expected.Sha256, stored.Sha256);
        Assert.Equal(expected.Length, stored.StoredLength);
        Assert.Equal("Succeeded", result.DataVolume.Phase);
        Assert.Equal((expected.Length + (1L << 20) - 1) >> 20 << 20, result.RequestedSize); // the disk: CDI adds the overhead to the claim
        Assert.StartsWith("registry image", result.Conversion!.FormatChain[0], StringComparison.Ordinal);
    }
}
