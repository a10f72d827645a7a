using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

public sealed class FakeApiServerPatchTests : FakeClusterHarness
{
    protected override CdiTools.Testing.FakeCluster.FakeClusterOptions Options => new() { Controllers = CdiTools.Testing.FakeCluster.FakeControllers.None };

    private Task<object> PatchCdiAsync(string patch, string type, string? fieldValidation = null) =>
        Client.CustomObjects.PatchClusterCustomObjectAsync(
            new V1Patch(patch, type switch
            {
                "merge" => V1Patch.PatchType.MergePatch,
                "json" => V1Patch.PatchType.JsonPatch,
                _ => V1Patch.PatchType.StrategicMergePatch,
            }),
            Cdi, V1Beta1, "cdis", "cdi", fieldValidation: fieldValidation);

    [Fact]
    public async Task A_merge_patch_sets_and_removes_fields_and_bumps_generation_and_resourceVersion()
    {
        Server.InstallCdi();
        var before = await GetCdiAsync();
        var patched = Node(await PatchCdiAsync("""{"spec":{"config":{"scratchSpaceStorageClass":"fast"},"infra":null}}""", "merge"));
        Assert.Equal("fast", (string?)patched["spec"]!["config"]!["scratchSpaceStorageClass"]);
        Assert.False(((JsonObject)patched["spec"]!).ContainsKey("infra"));
        Assert.Equal("IfNotPresent", (string?)patched["spec"]!["imagePullPolicy"]);
        Assert.Equal(2, (int)patched["metadata"]!["generation"]!);
        Assert.True(long.Parse((string)patched["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture) > long.Parse((string)before["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture));

        var labelled = Node(await PatchCdiAsync("""{"metadata":{"labels":{"team":"storage"}}}""", "merge"));
        Assert.Equal("storage", (string?)labelled["metadata"]!["labels"]!["team"]);
        Assert.Equal(2, (int)labelled["metadata"]!["generation"]!);
    }

    [Fact]
    public async Task A_JSON_patch_applies_its_operations_in_order_and_a_failed_test_changes_nothing()
    {
        Server.InstallCdi();
        var patched = Node(await PatchCdiAsync(
            """
            [
              {"op":"test","path":"/spec/imagePullPolicy","value":"IfNotPresent"},
              {"op":"add","path":"/spec/config","value":{}},
              {"op":"add","path":"/spec/config/scratchSpaceStorageClass","value":"fast"},
              {"op":"add","path":"/spec/config/featureGates","value":["A"]},
              {"op":"add","path":"/spec/config/featureGates/-","value":"B"},
              {"op":"replace","path":"/spec/imagePullPolicy","value":"Always"},
              {"op":"remove","path":"/spec/workload"}
            ]
            """,
            "json"));
        Assert.Equal("fast", (string?)patched["spec"]!["config"]!["scratchSpaceStorageClass"]);
        Assert.Equal("""["A","B"]""", patched["spec"]!["config"]!["featureGates"]!.ToJsonString());
        Assert.Equal("Always", (string?)patched["spec"]!["imagePullPolicy"]);
        Assert.False(((JsonObject)patched["spec"]!).ContainsKey("workload"));

        var version = (string)patched["metadata"]!["resourceVersion"]!;
        var (error, status) = await FailsAsync(() => PatchCdiAsync(
            """[{"op":"test","path":"/spec/imagePullPolicy","value":"Never"},{"op":"replace","path":"/spec/imagePullPolicy","value":"Never"}]""", "json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Equal("Invalid", (string?)status["reason"]);
        Assert.Equal(version, (string?)(await GetCdiAsync())["metadata"]!["resourceVersion"]);

        var (_, missing) = await FailsAsync(() => PatchCdiAsync("""[{"op":"remove","path":"/spec/nothing"}]""", "json"));
        Assert.Equal(422, (int)missing["code"]!);
    }

    [Fact]
    public async Task A_patch_carrying_a_stale_resourceVersion_is_a_Conflict()
    {
        Server.InstallCdi();
        var stale = (string)(await GetCdiAsync())["metadata"]!["resourceVersion"]!;
        await PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "merge");
        var (_, status) = await FailsAsync(() => PatchCdiAsync($$$"""{"metadata":{"resourceVersion":"{{{stale}}}"},"spec":{"imagePullPolicy":"Never"}}""", "merge"));
        Assert.Equal("Conflict", (string?)status["reason"]);
        Assert.Equal("Always", (string?)(await GetCdiAsync())["spec"]!["imagePullPolicy"]);
    }

    [Fact]
    public async Task Strategic_merge_patch_is_unsupported_for_custom_resources_but_served_for_built_ins()
    {
        Server.InstallCdi();
        var (error, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "strategic"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, error.Response.StatusCode);
        Assert.Equal("UnsupportedMediaType", (string?)status["reason"]);
        Assert.StartsWith("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json", (string?)status["message"]);

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, "default");
        var patched = await Client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"metadata":{"annotations":{"a":"b"}}}""", V1Patch.PatchType.StrategicMergePatch), "cm", "default");
        Assert.Equal("b", patched.Metadata.Annotations["a"]);
    }

    [Fact]
    public async Task Writes_to_status_change_only_status_and_writes_to_the_object_ignore_status()
    {
        var created = Node(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            DataVolume("dv").Also(dv => dv["status"] = new JsonObject { ["phase"] = "Succeeded" }), Cdi, V1Beta1, "default", "datavolumes"));
        Assert.Null(created["status"]);

        var statusPatched = Node(await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"phase":"ImportInProgress","progress":"10.0%"},"spec":{"source":{"http":{"url":"http://x"}}}}""", V1Patch.PatchType.MergePatch),
            Cdi, V1Beta1, "default", "datavolumes", "dv"));
        Assert.Equal("ImportInProgress", (string?)statusPatched["status"]!["phase"]);
        Assert.NotNull(statusPatched["spec"]!["source"]!["upload"]);
        Assert.Null(statusPatched["spec"]!["source"]!["http"]);
        Assert.Equal(1, (int)statusPatched["metadata"]!["generation"]!);

        var mainPatched = Node(await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"status":{"phase":"Failed"},"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch),
            Cdi, V1Beta1, "default", "datavolumes", "dv"));
        Assert.Equal("ImportInProgress", (string?)mainPatched["status"]!["phase"]);
        Assert.Equal("y", (string?)mainPatched["metadata"]!["labels"]!["x"]);

        // CDI's own CRD declares no status subresource: its status is written with the object and /status is not there.
        Server.InstallCdi();
        var (error, _) = await FailsAsync(() => Client.CustomObjects.GetClusterCustomObjectStatusAsync(Cdi, V1Beta1, "cdis", "cdi"));
        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
        var cdi = Node(await PatchCdiAsync("""{"status":{"phase":"Deploying"}}""", "merge"));
        Assert.Equal("Deploying", (string?)cdi["status"]!["phase"]);
    }

    [Fact]
    public async Task Denied_verbs_answer_Forbidden_like_RBAC_while_others_still_work()
    {
        Server.InstallCdi();
        Server.Deny("patch", "cdis", "cdi.kubevirt.io");
        Server.Deny("create", "persistentvolumeclaims");
        var (error, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "merge"));
        Assert.Equal(HttpStatusCode.Forbidden, error.Response.StatusCode);
        Assert.Equal("Forbidden", (string?)status["reason"]);
        Assert.Equal(
            $"cdis.cdi.kubevirt.io \"cdi\" is forbidden: User \"{Server.UserName}\" cannot patch resource \"cdis\" in API group \"cdi.kubevirt.io\" at the cluster scope",
            (string?)status["message"]);
        Assert.Equal("IfNotPresent", (string?)(await GetCdiAsync())["spec"]!["imagePullPolicy"]);

        var (_, pvc) = await FailsAsync(() => Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim { Metadata = new V1ObjectMeta { Name = "p" } }, "default"));
        Assert.Equal(
            $"persistentvolumeclaims is forbidden: User \"{Server.UserName}\" cannot create resource \"persistentvolumeclaims\" in API group \"\" in the namespace \"default\"",
            (string?)pvc["message"]);

        Server.ClearDenials();
        await PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "merge");
    }

    [Fact]
    public async Task Injected_conflicts_refuse_that_many_writes_then_let_them_through()
    {
        Server.InstallCdi();
        Server.InjectConflicts("cdis", 2);
        var before = (string)(await GetCdiAsync())["metadata"]!["resourceVersion"]!;
        for (var i = 0; i < 2; i++)
        {
            var (error, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "merge"));
            Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
            Assert.Equal("Conflict", (string?)status["reason"]);
        }

        var after = await GetCdiAsync();
        Assert.NotEqual(before, (string?)after["metadata"]!["resourceVersion"]);
        Assert.Equal("IfNotPresent", (string?)after["spec"]!["imagePullPolicy"]);
        var patched = Node(await PatchCdiAsync("""{"spec":{"imagePullPolicy":"Always"}}""", "merge"));
        Assert.Equal("Always", (string?)patched["spec"]!["imagePullPolicy"]);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject obj, Action<JsonObject> change)
    {
        change(obj);
        return obj;
    }
}
