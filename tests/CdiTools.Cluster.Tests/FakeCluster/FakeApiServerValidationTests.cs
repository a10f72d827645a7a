using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>CDI objects checked against the CRD schemas kept in tests/data/cdi-reference.</summary>
public sealed class FakeApiServerValidationTests : FakeClusterHarness
{
    protected override CdiTools.Testing.FakeCluster.FakeClusterOptions Options => new() { Controllers = CdiTools.Testing.FakeCluster.FakeControllers.None };

    private Task<object> PatchCdiAsync(string patch, string? fieldValidation = null) =>
        Client.CustomObjects.PatchClusterCustomObjectAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "cdis", "cdi", fieldValidation: fieldValidation);

    [Fact]
    public async Task Strict_validation_refuses_an_unknown_field_in_a_patch_naming_its_path()
    {
        Server.InstallCdi();
        var (error, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"config":{"scratchSpaceStorageClas":"fast"}}}""", "Strict"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Equal("Invalid", (string?)status["reason"]);
        Assert.EndsWith("strict decoding error: unknown field \"spec.config.scratchSpaceStorageClas\"", (string?)status["message"]);
        Assert.Equal("patch", (string?)status["details"]!["causes"]![0]!["field"]);
        Assert.Null((await GetCdiAsync())["spec"]!["config"]);
    }

    [Fact]
    public async Task Strict_validation_refuses_an_unknown_field_in_a_create_as_a_bad_request()
    {
        var dv = DataVolume("dv");
        dv["spec"]!["storage"]!["sise"] = "1Gi";
        dv["metadata"]!["labelz"] = new JsonObject();
        var (error, status) = await FailsAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync(dv, Cdi, V1Beta1, "default", "datavolumes", fieldValidation: "Strict"));
        Assert.Equal(HttpStatusCode.BadRequest, error.Response.StatusCode);
        Assert.Equal("BadRequest", (string?)status["reason"]);
        Assert.Equal(
            "DataVolume in version \"v1beta1\" cannot be handled as a DataVolume: strict decoding error: unknown field \"metadata.labelz\", unknown field \"spec.storage.sise\"",
            (string?)status["message"]);
    }

    [Fact]
    public async Task Without_strict_validation_unknown_fields_are_dropped_with_a_warning()
    {
        Server.InstallCdi();
        var response = await Client.CustomObjects.PatchClusterCustomObjectWithHttpMessagesAsync(
            new V1Patch("""{"spec":{"config":{"scratchSpaceStorageClas":"fast","scratchSpaceStorageClass":"fast"}}}""", V1Patch.PatchType.MergePatch),
            Cdi, V1Beta1, "cdis", "cdi");
        var body = Node(response.Body);
        Assert.Equal("""{"scratchSpaceStorageClass":"fast"}""", body["spec"]!["config"]!.ToJsonString());
        var warning = Assert.Single(response.Response.Headers.Warning);
        Assert.Equal(299, warning.Code);
        Assert.Equal("\"unknown field \\\"spec.config.scratchSpaceStorageClas\\\"\"", warning.Text);

        var ignored = await Client.CustomObjects.PatchClusterCustomObjectWithHttpMessagesAsync(
            new V1Patch("""{"spec":{"bogus":1}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "cdis", "cdi", fieldValidation: "Ignore");
        Assert.Empty(ignored.Response.Headers.Warning);
        Assert.Null(Node(ignored.Body)["spec"]!["bogus"]);
    }

    [Fact]
    public async Task A_wrong_type_is_Invalid_with_the_field_path_whatever_the_field_validation()
    {
        Server.InstallCdi();
        var (error, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"config":{"scratchSpaceStorageClass":5}}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Equal(
            "CDI.cdi.kubevirt.io \"cdi\" is invalid: spec.config.scratchSpaceStorageClass: Invalid value: \"integer\": spec.config.scratchSpaceStorageClass in body must be of type string: \"integer\"",
            (string?)status["message"]);
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("FieldValueTypeInvalid", (string?)cause["reason"]);
        Assert.Equal("spec.config.scratchSpaceStorageClass", (string?)cause["field"]);
        Assert.Equal("CDI", (string?)status["details"]!["kind"]);
    }

    [Fact]
    public async Task Enums_patterns_and_minimums_are_enforced_and_several_errors_are_listed_together()
    {
        Server.InstallCdi();
        var (_, status) = await FailsAsync(() => PatchCdiAsync(
            """{"spec":{"imagePullPolicy":"Sometimes","config":{"filesystemOverhead":{"global":"2"}}}}"""));
        var message = (string?)status["message"];
        Assert.StartsWith("CDI.cdi.kubevirt.io \"cdi\" is invalid: [", message);
        Assert.Contains("spec.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"", message);
        Assert.Contains("spec.config.filesystemOverhead.global: Invalid value: \"2\": spec.config.filesystemOverhead.global in body should match '^(0(?:\\.\\d{1,3})?|1)$'", message);
        var fields = status["details"]!["causes"]!.AsArray().Select(c => (string?)c!["field"]).ToList();
        Assert.Contains("spec.imagePullPolicy", fields);
        Assert.Contains("spec.config.filesystemOverhead.global", fields);
    }

    [Fact]
    public async Task Required_fields_must_be_present()
    {
        var dv = DataVolume("dv");
        dv.Remove("spec");
        var (_, status) = await FailsAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync(dv, Cdi, V1Beta1, "default", "datavolumes"));
        Assert.Equal("DataVolume.cdi.kubevirt.io \"dv\" is invalid: spec: Required value", (string?)status["message"]);
        Assert.Equal("FieldValueRequired", (string?)status["details"]!["causes"]![0]!["reason"]);
    }

    [Fact]
    public async Task Int_or_string_fields_take_integers_and_strings_but_nothing_else()
    {
        Server.InstallCdi();
        var accepted = Node(await PatchCdiAsync("""{"spec":{"config":{"podResourceRequirements":{"limits":{"cpu":"500m","memory":1073741824}}}}}"""));
        Assert.Equal("500m", (string?)accepted["spec"]!["config"]!["podResourceRequirements"]!["limits"]!["cpu"]);

        var (_, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"config":{"podResourceRequirements":{"limits":{"cpu":true}}}}}"""));
        Assert.Contains("spec.config.podResourceRequirements.limits.cpu in body must be of type integer,string: \"boolean\"", (string?)status["message"]);

        var (_, pattern) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"config":{"podResourceRequirements":{"limits":{"cpu":"lots"}}}}}"""));
        Assert.Contains("spec.config.podResourceRequirements.limits.cpu in body should match", (string?)pattern["message"]);
    }

    [Fact]
    public async Task AdditionalProperties_maps_take_any_key_but_check_each_value()
    {
        Server.InstallCdi();
        var accepted = Node(await PatchCdiAsync("""{"spec":{"config":{"filesystemOverhead":{"storageClass":{"fast":"0.1","slow":"0.2"}}}}}"""));
        Assert.Equal("0.2", (string?)accepted["spec"]!["config"]!["filesystemOverhead"]!["storageClass"]!["slow"]);
        var (_, status) = await FailsAsync(() => PatchCdiAsync("""{"spec":{"config":{"filesystemOverhead":{"storageClass":{"fast":7}}}}}"""));
        Assert.Contains("spec.config.filesystemOverhead.storageClass.fast in body must be of type string: \"integer\"", (string?)status["message"]);
    }

    [Fact]
    public async Task Preserve_unknown_fields_keeps_what_the_schema_does_not_declare()
    {
        Server.InstallHyperConverged("fast");
        var patched = Node(await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"featureGates":{"anything":true},"scratchSpaceStorageClass":"slow"}}""", V1Patch.PatchType.MergePatch),
            "hco.kubevirt.io", V1Beta1, "kubevirt-hyperconverged", "hyperconvergeds", "kubevirt-hyperconverged", fieldValidation: "Strict"));
        Assert.Equal(true, (bool?)patched["spec"]!["featureGates"]!["anything"]);
        var (_, status) = await FailsAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"scratchSpaceStorageClass":["x"]}}""", V1Patch.PatchType.MergePatch),
            "hco.kubevirt.io", V1Beta1, "kubevirt-hyperconverged", "hyperconvergeds", "kubevirt-hyperconverged"));
        Assert.Contains("spec.scratchSpaceStorageClass in body must be of type string: \"array\"", (string?)status["message"]);
    }

    [Fact]
    public async Task Defaults_from_the_schema_are_filled_in_and_bad_names_are_refused()
    {
        Server.InstallCdi();
        var patched = Node(await PatchCdiAsync("""{"spec":{"config":{"imagePullSecrets":[{}]}}}"""));
        Assert.Equal("", (string?)patched["spec"]!["config"]!["imagePullSecrets"]![0]!["name"]);

        var (_, status) = await FailsAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync(DataVolume("Bad_Name"), Cdi, V1Beta1, "default", "datavolumes"));
        Assert.Contains("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain", (string?)status["message"]);
    }
}
