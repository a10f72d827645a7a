using System.Text.Json.Nodes;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Scratch;
using CdiTools.Cluster.Sizing;
using CdiTools.Cluster.Tests.FakeCluster;
using k8s.Models;

namespace CdiTools.Cluster.Tests.Scratch;

/// <summary>
/// The scratch preflight against the fake API server: each finding from a cluster state that
/// causes it, and none from a cluster where the scratch PVC binds.
/// </summary>
public sealed class ScratchSpacePreflightTests : FakeClusterHarness
{
    private const long TenGi = 10L << 30;

    private ScratchSpacePreflight Preflight()
    {
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{Guid.NewGuid():N}"), defaultNamespace: "vms");
        return new ScratchSpacePreflight(new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))));
    }

    private void Seed(string provisioner = "example.com/csi", bool defaultClass = true)
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", provisioner, isDefault: defaultClass);
        Server.AddStorageProfile("standard", ("ReadWriteOnce", "Filesystem"));
        Server.InstallCdi("v1.66.0");
    }

    private static DataVolume Http(string? storageClass = null, string? volumeMode = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "fedora", NamespaceProperty = "vms" },
        Spec = new DataVolumeSpec
        {
            Source = new DataVolumeSource { Http = new HttpDataSource { Url = "https://images.example/fedora.qcow2" } },
            Storage = new DataVolumeStorage
            {
                StorageClassName = storageClass,
                VolumeMode = volumeMode,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("10Gi") } },
            },
        },
    };

    private void Put(string json) => Server.PutObject(JsonNode.Parse(json)!.AsObject());

    [Fact]
    public async Task A_scratch_PVC_that_binds_gives_no_finding_and_CDI_s_sizes()
    {
        Seed();

        var report = await Preflight().TestAsync(Http(), exists: false, default);

        Assert.True(report.Ready);
        Assert.True(report.ScratchRequired);
        Assert.Empty(report.Findings);
        Assert.Equal("standard", report.StorageClass);
        Assert.Equal("vms/fedora", report.DataVolume);
        Assert.Equal((long)Math.Ceiling(TenGi * 1.06), report.TargetSize);
        Assert.Equal(PvcSize.Scratch(report.TargetSize!.Value, 0.06, 0.06, CdiVersion.Parse("v1.66.0")), report.Size);
        // The storage API's claim carries the overhead; CDI takes it out and puts the scratch class's back.
        Assert.Equal(10855L << 20, report.Size);
        Assert.Contains(report.Resolution, s => s.Applies);
    }

    [Fact]
    public async Task A_Block_DataVolume_gets_a_Filesystem_scratch_PVC_sized_with_the_scratch_class_s_overhead()
    {
        Seed();

        var report = await Preflight().TestAsync(Http(volumeMode: "Block"), exists: false, default);

        Assert.Equal(TenGi, report.TargetSize);
        Assert.Equal(10855L << 20, report.Size);
    }

    [Fact]
    public async Task An_import_that_needs_no_scratch_says_so_and_nothing_else()
    {
        Seed();
        var registry = Http();
        registry.Spec!.Source = new DataVolumeSource { Registry = new RegistryDataSource { Url = "docker://quay.io/containerdisks/fedora:40", PullMethod = "node" } };

        var report = await Preflight().TestAsync(registry, exists: false, default);

        Assert.False(report.ScratchRequired);
        Assert.Equal(0, report.Size);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(("ScratchNotRequired", ScratchFindingSeverity.Info), (finding.Id, finding.Severity));
    }

    [Fact]
    public async Task A_quota_without_room_for_target_prime_and_scratch_is_an_error_with_the_numbers()
    {
        Seed();
        Put("""{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"storage","namespace":"vms"},"spec":{"hard":{"requests.storage":"40Gi","persistentvolumeclaims":"10"}},"status":{"used":{"requests.storage":"15Gi","persistentvolumeclaims":"2"}}}""");

        var report = await Preflight().TestAsync(Http(), exists: false, default);

        Assert.False(report.Ready);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(("ScratchQuotaExceeded", ScratchFindingSeverity.Error), (finding.Id, finding.Severity));
        Assert.Contains("ResourceQuota vms/storage: requests.storage has 15Gi", finding.Message);
        Assert.Contains("of 40Gi", finding.Message);
        Assert.Contains("prime PVC", finding.Message);
        Assert.Contains("the scratch PVC 10855Mi", finding.Message);
    }

    [Fact]
    public async Task A_quota_with_room_or_a_volume_that_exists_already_is_no_finding()
    {
        Seed(provisioner: "kubernetes.io/gce-pd");
        Put("""{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"storage","namespace":"vms"},"spec":{"hard":{"requests.storage":"40Gi"}},"status":{"used":{"requests.storage":"15Gi"}}}""");

        // An in-tree class uses no populator, so only the target and scratch count: twice 10.6Gi fits in the 25Gi left.
        Assert.Empty((await Preflight().TestAsync(Http(), exists: false, default)).Findings);
        Assert.Empty((await Preflight().TestAsync(Http(), exists: true, default)).Findings);
    }

    [Fact]
    public async Task A_per_class_quota_of_zero_says_the_namespace_may_not_use_the_class()
    {
        Seed();
        Server.AddStorageClass("fast");
        Put("""{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"no-fast","namespace":"vms"},"spec":{"hard":{"fast.storageclass.storage.k8s.io/requests.storage":"0"}},"status":{"used":{}}}""");

        var report = await Preflight().TestAsync(Http(storageClass: "fast"), exists: false, default);

        var finding = Assert.Single(report.Findings);
        Assert.Equal("ScratchQuotaExceeded", finding.Id);
        Assert.Contains("may not use class 'fast'", finding.Message);
        Assert.Empty((await Preflight().TestAsync(Http(storageClass: "standard"), exists: false, default)).Findings);
    }

    [Fact]
    public async Task A_LimitRange_below_the_scratch_size_is_an_error()
    {
        Seed();
        Put("""{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"small","namespace":"vms"},"spec":{"limits":[{"type":"PersistentVolumeClaim","max":{"storage":"5Gi"}},{"type":"Container","max":{"memory":"1Gi"}}]}}""");

        var finding = Assert.Single((await Preflight().TestAsync(Http(), exists: false, default)).Findings);

        Assert.Equal(("ScratchLimitRangeExceeded", ScratchFindingSeverity.Error), (finding.Id, finding.Severity));
        Assert.Contains("caps a PVC at 5Gi", finding.Message);
    }

    [Fact]
    public async Task A_configured_class_that_does_not_exist_is_a_warning_naming_the_class_used_instead()
    {
        Seed();
        Server.InstallHyperConverged(scratchSpaceStorageClass: "gone");

        var report = await Preflight().TestAsync(Http(), exists: false, default);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("ScratchStorageClassMissing", ScratchFindingSeverity.Warning), (finding.Id, finding.Severity));
        Assert.Contains("'gone' does not exist", finding.Message);
        Assert.Contains("gets 'standard' instead", finding.Message);
        Assert.True(report.Ready);
    }

    [Fact]
    public async Task A_scratch_class_with_only_Block_volumes_is_an_error()
    {
        Seed();
        Server.AddStorageClass("raw-block");
        Server.AddStorageProfile("raw-block", ("ReadWriteOnce", "Block"));

        var report = await Preflight().TestAsync(Http(storageClass: "raw-block"), exists: false, default);

        Assert.Contains(report.Findings, f => f is { Id: "ScratchClassNoFilesystem", Severity: ScratchFindingSeverity.Error });
    }

    [Theory]
    [InlineData("rancher.io/local-path", ScratchFindingSeverity.Warning)]
    [InlineData("example.com/csi", ScratchFindingSeverity.Info)]
    public async Task A_class_that_waits_for_the_first_consumer_is_noted_and_a_node_local_one_warned_of(string provisioner, ScratchFindingSeverity severity)
    {
        Seed();
        Server.AddStorageClass("lazy", provisioner, volumeBindingMode: "WaitForFirstConsumer");

        var report = await Preflight().TestAsync(Http(storageClass: "lazy"), exists: false, default);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("ScratchWaitForFirstConsumer", severity), (finding.Id, finding.Severity));
    }

    [Fact]
    public async Task Without_any_class_the_scratch_PVC_needs_an_Available_Filesystem_volume_and_one_that_fits_is_named()
    {
        Seed(defaultClass: false);

        var none = await Preflight().TestAsync(Http(volumeMode: "Block"), exists: false, default);

        Assert.Null(none.StorageClass);
        var missing = Assert.Single(none.Findings);
        Assert.Equal(("ScratchNoMatchingPersistentVolume", ScratchFindingSeverity.Error), (missing.Id, missing.Severity));
        Assert.Contains("at least 10855Mi", missing.Message);
        Assert.Contains("needs two volumes", missing.Message);

        Put("""{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-block"},"spec":{"capacity":{"storage":"20Gi"},"volumeMode":"Block","accessModes":["ReadWriteOnce"]},"status":{"phase":"Available"}}""");
        Put("""{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-small"},"spec":{"capacity":{"storage":"5Gi"},"accessModes":["ReadWriteOnce"]},"status":{"phase":"Available"}}""");
        Assert.Equal(ScratchFindingSeverity.Error, Assert.Single((await Preflight().TestAsync(Http(volumeMode: "Block"), exists: false, default)).Findings).Severity);

        Put("""{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-scratch"},"spec":{"capacity":{"storage":"11Gi"},"volumeMode":"Filesystem","accessModes":["ReadWriteOnce"]},"status":{"phase":"Available"}}""");
        var fits = Assert.Single((await Preflight().TestAsync(Http(volumeMode: "Block"), exists: false, default)).Findings);
        Assert.Equal(ScratchFindingSeverity.Info, fits.Severity);
        Assert.Contains("pv-scratch", fits.Message);
    }
}
