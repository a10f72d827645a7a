using System.Text;
using System.Text.Json.Nodes;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Tests.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Creating, listing and deleting DataVolumes against the fake API server, which validates them against CDI's CRD.</summary>
public sealed class DataVolumeServiceTests : FakeClusterHarness
{
    private const string DataVolumes = "cdi.kubevirt.io/v1beta1";

    private DataVolumeService Service()
    {
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{Guid.NewGuid():N}"), "fake", "vms");
        return new DataVolumeService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))));
    }

    private void Seed(string? scratchClass = null)
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast");
        Server.InstallCdi();
        if (scratchClass is not null)
        {
            var cdi = Server.GetObject(DataVolumes, "CDI", "cdi")!;
            cdi["spec"]!["config"] = new JsonObject { ["scratchSpaceStorageClass"] = scratchClass };
            Server.PutObject(cdi);
        }
    }

    private static DataVolumeRequest Http => new() { Name = "disk", Source = DataVolumeSourceKind.Http, Url = "https://images.example/disk.qcow2", Size = 10L << 30 };

    private JsonObject? Stored(string kind, string name, string apiVersion = "v1") => Server.GetObject(apiVersion, kind, name, "vms");

    [Fact]
    public async Task Creating_warns_with_the_scratch_preflight_s_findings_and_creates_all_the_same()
    {
        Seed();
        Server.PutObject(JsonNode.Parse("""{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"storage","namespace":"vms"},"spec":{"hard":{"requests.storage":"15Gi"}},"status":{"used":{"requests.storage":"2Gi"}}}""")!.AsObject());

        // The small one first: the quota then charges its PVCs, and the large one does not fit beside them.
        var fits = await Service().CreateAsync(Http with { Name = "small", Size = 1L << 30 }, default);
        var created = await Service().CreateAsync(Http, default);

        Assert.NotNull(Stored("DataVolume", "disk", DataVolumes));
        var warning = Assert.Single(created.Warnings);
        Assert.StartsWith("Scratch space for vms/disk: ScratchQuotaExceeded: ResourceQuota vms/storage", warning);
        Assert.Contains("Fix: ", warning);
        Assert.Empty(fits.Warnings);
        await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(Http with { Name = "refused" }, default, ScratchPreflightPolicy.Refuse));
        Assert.Null(Stored("DataVolume", "refused", DataVolumes));
    }

    [Fact]
    public async Task Credentials_and_CA_are_created_first_and_owned_by_the_DataVolume()
    {
        Seed();
        var created = await Service().CreateAsync(Http with { Credential = new("reader", "s3cret"), CertificatePem = DataVolumeManifestTests.TestPem() }, default);

        var dataVolume = Stored("DataVolume", "disk", DataVolumes)!;
        var uid = (string?)dataVolume["metadata"]!["uid"];
        foreach (var (kind, name) in new[] { ("Secret", "disk-source-credentials"), ("ConfigMap", "disk-source-ca") })
        {
            var owner = Assert.Single(Stored(kind, name)!["metadata"]!["ownerReferences"]!.AsArray())!;
            Assert.Equal("DataVolume", (string?)owner["kind"]);
            Assert.Equal("disk", (string?)owner["name"]);
            Assert.Equal(uid, (string?)owner["uid"]);
        }

        var secretData = Stored("Secret", "disk-source-credentials")!["data"]!;
        Assert.Equal("reader", Encoding.UTF8.GetString(Convert.FromBase64String((string)secretData["accessKeyId"]!)));
        Assert.Equal("s3cret", Encoding.UTF8.GetString(Convert.FromBase64String((string)secretData["secretKey"]!)));
        var creates = Server.Requests.Where(r => r.Method == "POST").Select(r => r.Path.Split('/')[^1]).ToList();
        Assert.Equal(["secrets", "configmaps", "datavolumes"], creates);
        Assert.Empty(created.Warnings);
        Assert.Equal("vms", created.View.Namespace);
        Assert.Equal("http https://images.example/disk.qcow2", created.View.Source);
    }

    public static TheoryData<DataVolumeRequest> EverySource => new()
    {
        Http with { ExtraHeaders = ["X-Mirror: eu"], Checksum = "sha256:" + new string('0', 64), SkipCertificateCheck = true, Preallocation = true, BindImmediately = true },
        Http with { ContentType = "archive", Url = "https://images.example/root.tar", AccessModes = ["ReadWriteMany"], VolumeMode = "Filesystem" },
        new() { Name = "reg", Source = DataVolumeSourceKind.Registry, Url = "docker://quay.example/disk:1", PullMethod = "node", Size = 1L << 30, StorageClass = "fast" },
        new() { Name = "up", Source = DataVolumeSourceKind.Upload, Size = 1L << 30, UsePvcApi = true },
        new() { Name = "blank", Source = DataVolumeSourceKind.Blank, Size = 1L << 30, VolumeMode = "Block" },
        new() { Name = "snap", Source = DataVolumeSourceKind.Snapshot, SourceName = "golden-snap" },
        new() { Name = "ds", Source = DataVolumeSourceKind.DataSource, SourceName = "fedora", SourceNamespace = "os-images" },
        new() { Name = "s3", Source = DataVolumeSourceKind.S3, Url = "https://s3.example/bucket/disk.qcow2", Credential = new("AKIA", "key"), Size = 1L << 30 },
        new() { Name = "gcs", Source = DataVolumeSourceKind.Gcs, Url = "gs://bucket/disk.img", ServiceAccountKey = "{\"type\":\"service_account\"}", Size = 1L << 30 },
        new() { Name = "imageio", Source = DataVolumeSourceKind.ImageIo, Url = "https://engine.example/ovirt-engine/api", DiskId = "d1", Credential = new("admin@internal", "p"), CertificatePem = DataVolumeManifestTests.TestPem(), Size = 1L << 30 },
        new() { Name = "vddk", Source = DataVolumeSourceKind.Vddk, Url = "https://vcenter.example/sdk", Uuid = "42", BackingFile = "[ds1] vm/vm.vmdk", Thumbprint = "AA:BB", Credential = new("root", "p"), InitImageUrl = "quay.example/vddk:8", Size = 1L << 30 },
    };

    [Theory]
    [MemberData(nameof(EverySource))]
    public async Task Every_source_passes_CDI_s_schema_and_is_stored_as_sent(DataVolumeRequest request)
    {
        Seed();
        var created = await Service().CreateAsync(request, default);

        var stored = Stored("DataVolume", request.Name, DataVolumes)!;
        var sent = JsonNode.Parse(KubernetesJson.Serialize(created.Manifest.DataVolume))!;
        Assert.True(JsonNode.DeepEquals(sent["spec"], stored["spec"]), $"sent {sent["spec"]!.ToJsonString()}\nstored {stored["spec"]!.ToJsonString()}");
    }

    [Fact]
    public async Task A_name_that_is_taken_is_refused_before_anything_is_created()
    {
        Seed();
        await Service().CreateAsync(Http, default);
        var before = Server.Requests.Count(r => r.Method == "POST");

        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(Http with { Credential = new("u", "p") }, default));

        Assert.Equal("DataVolumeExists", error.ErrorId);
        Assert.Equal(ClusterErrorKind.AlreadyExists, error.Kind);
        Assert.Equal(before, Server.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task A_PVC_of_the_name_that_no_DataVolume_owns_is_refused_as_CDI_would()
    {
        Seed();
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = "disk", ["namespace"] = "vms" },
            ["spec"] = new JsonObject { ["accessModes"] = new JsonArray("ReadWriteOnce") },
        });

        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(Http, default));
        Assert.Equal("PvcExists", error.ErrorId);
    }

    [Fact]
    public async Task An_existing_Secret_of_the_name_is_not_overwritten()
    {
        Seed();
        Server.PutObject(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "disk-source-credentials", ["namespace"] = "vms" },
            ["data"] = new JsonObject { ["other"] = "eA==" },
        });

        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(Http with { Credential = new("u", "p") }, default));

        Assert.Equal("SecretExists", error.ErrorId);
        Assert.Equal("eA==", (string?)Stored("Secret", "disk-source-credentials")!["data"]!["other"]);
        Assert.Null(Stored("DataVolume", "disk", DataVolumes));
    }

    [Theory]
    [InlineData("secret", "SecretNotFound")]
    [InlineData("configmap", "ConfigMapNotFound")]
    [InlineData("header", "SecretNotFound")]
    [InlineData("clone", "CloneSourceNotFound")]
    public async Task A_missing_object_the_DataVolume_needs_is_found_before_CDI_would_wait_for_it(string what, string id)
    {
        Seed();
        var request = what switch
        {
            "secret" => Http with { SecretName = "nope" },
            "configmap" => Http with { CertConfigMap = "nope" },
            "header" => Http with { SecretExtraHeaders = ["nope"] },
            _ => new DataVolumeRequest { Name = "copy", Source = DataVolumeSourceKind.Pvc, SourceName = "nope" },
        };

        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(request, default));

        Assert.Equal(id, error.ErrorId);
        Assert.Contains("vms/nope", error.Message);
        Assert.DoesNotContain(Server.Requests, r => r.Method == "POST");
    }

    [Fact]
    public async Task When_the_DataVolume_cannot_be_created_the_Secret_and_ConfigMap_made_for_it_are_deleted()
    {
        Seed();
        Server.Deny("create", "datavolumes");

        var error = await Assert.ThrowsAsync<ClusterException>(() => Service().CreateAsync(Http with { Credential = new("u", "p"), CertificatePem = DataVolumeManifestTests.TestPem() }, default));

        Assert.Equal(ClusterErrorKind.Forbidden, error.Kind);
        Assert.Null(Stored("Secret", "disk-source-credentials"));
        Assert.Null(Stored("ConfigMap", "disk-source-ca"));
        Assert.Equal(2, Server.Requests.Count(r => r.Method == "DELETE"));
    }

    [Fact]
    public async Task The_view_predicts_scratch_space_and_its_class()
    {
        Seed(scratchClass: "fast");
        var service = Service();

        var upload = (await service.CreateAsync(new DataVolumeRequest { Name = "up", Source = DataVolumeSourceKind.Upload, Size = 1L << 30 }, default)).View;
        Assert.True(upload.Scratch.RequiresScratch);
        Assert.Equal("fast", upload.ScratchClass);

        var blank = (await service.CreateAsync(new DataVolumeRequest { Name = "b", Source = DataVolumeSourceKind.Blank, Size = 1L << 30 }, default)).View;
        Assert.False(blank.Scratch.RequiresScratch);
        Assert.Null(blank.ScratchClass);

        var xz = (await service.CreateAsync(Http with { Name = "x", Url = "https://images.example/disk.qcow2.xz" }, default)).View;
        Assert.True(xz.Scratch.RequiresScratch);
        Assert.Contains("Qcow2Xz from Https, by CDI v1.66.0", xz.Scratch.Reason);
    }

    [Fact]
    public async Task Listing_filters_by_name_and_spans_namespaces_when_asked()
    {
        Seed();
        Server.AddNamespace("other");
        var service = Service();
        await service.CreateAsync(Http with { Name = "web-1" }, default);
        await service.CreateAsync(Http with { Name = "web-2" }, default);
        await service.CreateAsync(Http with { Name = "db" }, default);
        await service.CreateAsync(Http with { Name = "web-3", Namespace = "other" }, default);

        var here = await service.ListAsync("vms", name => name.StartsWith("web", StringComparison.Ordinal), default);
        var everywhere = await service.ListAsync(null, name => name.StartsWith("web", StringComparison.Ordinal), default);

        Assert.Equal(["web-1", "web-2"], here.Select(v => v.Name));
        Assert.Equal(["other/web-3", "vms/web-1", "vms/web-2"], everywhere.Select(v => $"{v.Namespace}/{v.Name}"));
        Assert.Equal(10L << 30, here[0].Size);
        Assert.NotNull(here[0].Created);
    }

    [Fact]
    public async Task A_clone_leaves_its_size_to_CDI_with_an_empty_storage_as_CDI_s_webhook_accepts()
    {
        Seed();
        var service = Service();
        await service.CreateAsync(Http with { Name = "golden" }, default);

        await service.CreateAsync(new DataVolumeRequest { Name = "copy", Source = DataVolumeSourceKind.Pvc, SourceName = "golden" }, default);

        var stored = Stored("DataVolume", "copy", DataVolumes)!;
        Assert.Equal("{}", stored["spec"]!["storage"]!.ToJsonString());
        Assert.Equal("golden", (string?)stored["spec"]!["source"]!["pvc"]!["name"]);
    }

    [Fact]
    public async Task Without_read_access_to_CDI_the_scratch_prediction_is_unknown_not_the_documented_answer()
    {
        Seed();
        var service = Service();
        await service.CreateAsync(Http, default);
        Server.Deny("list", "cdis", "cdi.kubevirt.io");
        Server.Deny("get", "cdis", "cdi.kubevirt.io");

        var view = await service.GetAsync("disk", "vms", default);

        Assert.Null(view!.Scratch.RequiresScratch);
        Assert.StartsWith("Unknown: the cluster's CDI version cannot be read", view.Scratch.Reason);
    }

    [Fact]
    public async Task Removing_a_DataVolume_takes_the_Secret_and_ConfigMap_made_for_it_along()
    {
        Seed();
        var service = Service();
        await service.CreateAsync(Http with { Credential = new("u", "p"), CertificatePem = DataVolumeManifestTests.TestPem() }, default);

        Assert.True((await service.RemoveAsync("disk", "vms", default)).Found);

        await EventuallyAsync(() => Task.FromResult(Stored("Secret", "disk-source-credentials") is null && Stored("ConfigMap", "disk-source-ca") is null));
        Assert.Null(Stored("PersistentVolumeClaim", "disk"));
    }

    [Fact]
    public async Task Removing_deletes_and_says_whether_there_was_one()
    {
        Seed();
        var service = Service();
        await service.CreateAsync(Http, default);

        var removed = await service.RemoveAsync("disk", "vms", default);

        Assert.Equal((true, false), (removed.Found, removed.Pending));
        Assert.Null(Stored("DataVolume", "disk", DataVolumes));
        Assert.False((await service.RemoveAsync("disk", "vms", default)).Found);
        Assert.Null(await service.GetAsync("disk", "vms", default));
    }

    [Fact]
    public async Task Removing_one_that_a_finalizer_holds_says_it_is_pending_and_which_finalizer()
    {
        Seed();
        var service = Service();
        await service.CreateAsync(Http, default);
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"metadata":{"finalizers":["example.com/backup"]}}""", V1Patch.PatchType.MergePatch), "cdi.kubevirt.io", "v1beta1", "vms", "datavolumes", "disk");

        var removed = await service.RemoveAsync("disk", "vms", default);

        Assert.Equal((true, true), (removed.Found, removed.Pending));
        Assert.Equal(["example.com/backup"], removed.PendingFinalizers);
        Assert.NotNull(Stored("DataVolume", "disk", DataVolumes)?["metadata"]?["deletionTimestamp"]);
    }
}
