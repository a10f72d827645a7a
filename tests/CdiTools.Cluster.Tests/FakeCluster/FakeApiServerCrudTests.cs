using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

public sealed class FakeApiServerCrudTests : FakeClusterHarness
{
    private async Task CreateConfigMapAsync(string name, Dictionary<string, string> labels) =>
        await Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name, Labels = labels }, Data = new Dictionary<string, string> { ["k"] = name } },
            "default");

    [Fact]
    public async Task Created_objects_come_back_with_server_fields_and_are_found_by_label_and_field_selectors()
    {
        await CreateConfigMapAsync("a", new() { ["app"] = "cdi", ["tier"] = "gold" });
        await CreateConfigMapAsync("b", new() { ["app"] = "cdi", ["tier"] = "silver" });
        await CreateConfigMapAsync("c", new() { ["app"] = "other" });
        await CreateConfigMapAsync("d", []);

        var a = await Client.CoreV1.ReadNamespacedConfigMapAsync("a", "default");
        Assert.False(string.IsNullOrEmpty(a.Metadata.Uid));
        Assert.NotNull(a.Metadata.CreationTimestamp);
        Assert.True(long.Parse(a.Metadata.ResourceVersion, CultureInfo.InvariantCulture) > 0);
        Assert.Equal("a", a.Data["k"]);

        async Task<string> Names(string? labels = null, string? fields = null)
        {
            var list = await Client.CoreV1.ListNamespacedConfigMapAsync("default", labelSelector: labels, fieldSelector: fields);
            return string.Join(",", list.Items.Select(i => i.Metadata.Name));
        }

        Assert.Equal("a,b,c,d", await Names());
        Assert.Equal("a,b", await Names("app=cdi"));
        Assert.Equal("a,b", await Names("app==cdi"));
        Assert.Equal("c,d", await Names("app!=cdi"));
        Assert.Equal("a", await Names("tier in (gold),app in (cdi,other)"));
        Assert.Equal("b,c,d", await Names("tier notin (gold)"));
        Assert.Equal("a,b", await Names("tier"));
        Assert.Equal("c,d", await Names("!tier"));
        Assert.Equal("b", await Names("app=cdi,tier!=gold"));
        Assert.Equal("c", await Names(fields: "metadata.name=c"));
        Assert.Equal("a,b,d", await Names(fields: "metadata.name!=c"));
        Assert.Equal("", await Names("app=cdi", "metadata.name=c"));
    }

    [Fact]
    public async Task Lists_page_with_limit_and_continue()
    {
        foreach (var name in new[] { "p1", "p2", "p3" })
        {
            await CreateConfigMapAsync(name, []);
        }

        var first = await Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 2);
        Assert.Equal(["p1", "p2"], first.Items.Select(i => i.Metadata.Name));
        Assert.False(string.IsNullOrEmpty(first.Metadata.ContinueProperty));
        Assert.Equal(1, first.Metadata.RemainingItemCount);
        var rest = await Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 2, continueParameter: first.Metadata.ContinueProperty);
        Assert.Equal(["p3"], rest.Items.Select(i => i.Metadata.Name));
        Assert.Null(rest.Metadata.ContinueProperty);
    }

    [Fact]
    public async Task A_second_create_of_the_same_name_is_AlreadyExists()
    {
        await CreateConfigMapAsync("same", []);
        var (error, status) = await FailsAsync(() => CreateConfigMapAsync("same", []));
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Equal("AlreadyExists", (string?)status["reason"]);
        Assert.Equal("configmaps \"same\" already exists", (string?)status["message"]);
        Assert.Equal("same", (string?)status["details"]!["name"]);
        Assert.Equal("configmaps", (string?)status["details"]!["kind"]);
    }

    [Fact]
    public async Task GenerateName_gets_a_random_suffix()
    {
        var created = Node(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new JsonObject
            {
                ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
                ["kind"] = "DataVolume",
                ["metadata"] = new JsonObject { ["generateName"] = "disk-" },
                ["spec"] = DataVolume("x")["spec"]!.DeepClone(),
            },
            Cdi, V1Beta1, "default", "datavolumes"));
        var name = (string)created["metadata"]!["name"]!;
        Assert.Matches("^disk-[a-z0-9]{5}$", name);
        Assert.Equal(1, (int)created["metadata"]!["generation"]!);
        Assert.NotNull(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", name, "default"));
    }

    [Fact]
    public async Task Missing_objects_namespaces_and_resources_are_NotFound()
    {
        var (_, missing) = await FailsAsync(() => Client.CustomObjects.GetNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "nope"));
        Assert.Equal("NotFound", (string?)missing["reason"]);
        Assert.Equal("datavolumes.cdi.kubevirt.io \"nope\" not found", (string?)missing["message"]);
        Assert.Equal("cdi.kubevirt.io", (string?)missing["details"]!["group"]);
        Assert.Equal("datavolumes", (string?)missing["details"]!["kind"]);

        var (_, noNamespace) = await FailsAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("x", "ghost"), Cdi, V1Beta1, "ghost", "datavolumes"));
        Assert.Equal("namespaces \"ghost\" not found", (string?)noNamespace["message"]);

        var (error, unknown) = await FailsAsync(() => Client.CustomObjects.ListClusterCustomObjectAsync(Cdi, V1Beta1, "widgets"));
        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
        Assert.Equal("the server could not find the requested resource", (string?)unknown["message"]);
    }

    [Fact]
    public async Task Replacing_with_a_stale_resourceVersion_is_a_Conflict()
    {
        Server.InstallCdi();
        var first = await GetCdiAsync();
        var stale = (string)first["metadata"]!["resourceVersion"]!;
        first["spec"]!["imagePullPolicy"] = "Always";
        var replaced = Node(await Client.CustomObjects.ReplaceClusterCustomObjectAsync(first, Cdi, V1Beta1, "cdis", "cdi"));
        Assert.NotEqual(stale, (string?)replaced["metadata"]!["resourceVersion"]);
        Assert.Equal(2, (int)replaced["metadata"]!["generation"]!);

        first["spec"]!["imagePullPolicy"] = "Never";
        var (error, status) = await FailsAsync(() => Client.CustomObjects.ReplaceClusterCustomObjectAsync(first, Cdi, V1Beta1, "cdis", "cdi"));
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Equal("Conflict", (string?)status["reason"]);
        Assert.Equal(
            "Operation cannot be fulfilled on cdis.cdi.kubevirt.io \"cdi\": the object has been modified; please apply your changes to the latest version and try again",
            (string?)status["message"]);
        Assert.Equal("Always", (string?)(await GetCdiAsync())["spec"]!["imagePullPolicy"]);
    }

    [Fact]
    public async Task Custom_resources_refuse_an_update_without_resourceVersion_but_built_ins_allow_it()
    {
        Server.InstallCdi();
        var cdi = await GetCdiAsync();
        ((JsonObject)cdi["metadata"]!).Remove("resourceVersion");
        var (error, status) = await FailsAsync(() => Client.CustomObjects.ReplaceClusterCustomObjectAsync(cdi, Cdi, V1Beta1, "cdis", "cdi"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Contains("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update", (string?)status["message"]);

        await CreateConfigMapAsync("free", []);
        var updated = await Client.CoreV1.ReplaceNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "free" }, Data = new Dictionary<string, string> { ["k"] = "new" } }, "free", "default");
        Assert.Equal("new", updated.Data["k"]);
    }

    [Fact]
    public async Task An_unchanged_replace_writes_nothing()
    {
        Server.InstallCdi();
        var cdi = await GetCdiAsync();
        var before = Server.ResourceVersion;
        var same = Node(await Client.CustomObjects.ReplaceClusterCustomObjectAsync(cdi, Cdi, V1Beta1, "cdis", "cdi"));
        Assert.Equal((string?)cdi["metadata"]!["resourceVersion"], (string?)same["metadata"]!["resourceVersion"]);
        Assert.Equal(before, Server.ResourceVersion);
    }

    [Fact]
    public async Task Delete_answers_a_Status_when_the_object_is_gone_and_finalizers_hold_it_until_removed()
    {
        await CreateConfigMapAsync("gone", []);
        var deleted = await Client.CoreV1.DeleteNamespacedConfigMapAsync("gone", "default");
        Assert.Equal(("Status", "Success", "gone", "configmaps"), (deleted.Kind, deleted.Status, deleted.Details.Name, deleted.Details.Kind));
        await FailsAsync(() => Client.CoreV1.ReadNamespacedConfigMapAsync("gone", "default"));

        await Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "held", Finalizers = ["example.com/hold"] } }, "default");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("held", "default");
        var held = await Client.CoreV1.ReadNamespacedConfigMapAsync("held", "default");
        Assert.NotNull(held.Metadata.DeletionTimestamp);
        await Client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "held", "default");
        await FailsAsync(() => Client.CoreV1.ReadNamespacedConfigMapAsync("held", "default"));
    }

    [Fact]
    public async Task A_custom_resource_deleted_at_once_answers_a_Status_and_one_held_by_a_finalizer_answers_itself()
    {
        Server.InstallCdi();
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("gone"), Cdi, V1Beta1, "default", "datavolumes");
        var held = DataVolume("held");
        held["metadata"]!["finalizers"] = new JsonArray("example.com/hold");
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(held, Cdi, V1Beta1, "default", "datavolumes");

        var gone = Node(await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "gone"));
        var marked = Node(await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Cdi, V1Beta1, "default", "datavolumes", "held"));

        Assert.Equal("Status", (string?)gone["kind"]);
        Assert.Equal("Success", (string?)gone["status"]);
        Assert.Equal("gone", (string?)gone["details"]!["name"]);
        Assert.Equal("DataVolume", (string?)marked["kind"]);
        Assert.NotNull(marked["metadata"]!["deletionTimestamp"]);
    }

    [Fact]
    public async Task A_storage_class_delete_answers_with_the_class_as_its_registry_returns_deleted_objects()
    {
        await Client.StorageV1.CreateStorageClassAsync(new V1StorageClass { Metadata = new V1ObjectMeta { Name = "fast" }, Provisioner = "example.com/csi" });

        var deleted = await Client.StorageV1.DeleteStorageClassAsync("fast");

        Assert.Equal(("StorageClass", "fast"), (deleted.Kind, deleted.Metadata.Name));
    }

    [Fact]
    public async Task A_PVC_gets_the_default_class_status_and_volume_mode_as_admission_gives_them()
    {
        Server.AddStorageClass("standard", isDefault: true);
        Server.AddStorageClass("fast");
        V1PersistentVolumeClaim Claim(string name, string? storageClass) => new()
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = storageClass,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        };

        var defaulted = await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim("a", null), "default");
        Assert.Equal("standard", defaulted.Spec.StorageClassName);
        Assert.Equal("Filesystem", defaulted.Spec.VolumeMode);
        Assert.Equal("Pending", defaulted.Status.Phase);
        var chosen = await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim("b", "fast"), "default");
        Assert.Equal("fast", chosen.Spec.StorageClassName);

        var invalid = Claim("c", null);
        invalid.Spec.AccessModes = [];
        var (_, status) = await FailsAsync(() => Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(invalid, "default"));
        Assert.Equal("Invalid", (string?)status["reason"]);
        Assert.Contains("spec.accessModes: Required value", (string?)status["message"]);
    }

    [Fact]
    public async Task Discovery_lists_the_CDI_and_HCO_groups_and_core_resources()
    {
        var groups = await Client.Apis.GetAPIVersionsAsync();
        var names = groups.Groups.Select(g => g.Name).ToList();
        Assert.Contains("cdi.kubevirt.io", names);
        Assert.Contains("hco.kubevirt.io", names);
        Assert.Contains("upload.cdi.kubevirt.io", names);
        Assert.Contains("storage.k8s.io", names);

        var core = await Client.CoreV1.GetAPIResourcesAsync();
        var pvc = core.Resources.Single(r => r.Name == "persistentvolumeclaims");
        Assert.True(pvc.Namespaced);
        Assert.Contains("pvc", pvc.ShortNames);
        Assert.Contains(core.Resources, r => r.Name == "persistentvolumeclaims/status");

        var storage = await Client.StorageV1.GetAPIResourcesAsync();
        Assert.False(storage.Resources.Single(r => r.Name == "storageclasses").Namespaced);
    }

    [Fact]
    public async Task Every_request_is_recorded_with_what_the_client_sent()
    {
        Server.InstallCdi();
        await Client.CustomObjects.PatchClusterCustomObjectAsync(
            new V1Patch("""{"spec":{"imagePullPolicy":"Always"}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "cdis", "cdi", fieldValidation: "Strict");
        var patch = Server.Requests[^1];
        Assert.Equal("PATCH", patch.Method);
        Assert.Equal("/apis/cdi.kubevirt.io/v1beta1/cdis/cdi", patch.Path);
        Assert.Equal("Strict", patch.QueryValue("fieldValidation"));
        Assert.StartsWith("application/merge-patch+json", patch.ContentType);
        Assert.Contains("imagePullPolicy", patch.Body);
        Assert.Equal(Server.UserName, patch.User);
        Assert.Equal(200, patch.Status);
    }
}
