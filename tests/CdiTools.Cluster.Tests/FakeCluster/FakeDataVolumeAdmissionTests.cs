using System.Net;
using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>CDI's validating webhook for DataVolumes, as the fake API server plays it through the real client.</summary>
public sealed class FakeDataVolumeAdmissionTests : FakeDataVolumeHarness
{
    private const string Denied = "admission webhook \"datavolume-validate.cdi.kubevirt.io\" denied the request: ";

    protected override FakeClusterOptions Options => new() { Controllers = FakeControllers.None };

    public static TheoryData<string, string, string, string> Refusals => new()
    {
        // name, JSON merged into a valid http DataVolume's spec, CDI's cause message, its field
        { "no-target", """{"storage":null}""", "Missing Data volume PVC", "spec.PVC" },
        { "both-targets", """{"pvc":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}""", "Duplicate storage definition, both target storage and target pvc defined", "spec.PVC.Storage" },
        { "no-size", """{"storage":{"resources":null}}""", "Storage size is missing", "spec.Storage.resources.requests.size" },
        { "pvc-no-size", """{"storage":null,"pvc":{"accessModes":["ReadWriteOnce"]}}""", "PVC size is missing", "spec.PVC.resources.requests.size" },
        { "tiny", """{"storage":{"resources":{"requests":{"storage":"512Ki"}}}}""", "Storage size should be at least 1MiB", "spec.Storage.resources.requests.size" },
        { "zero", """{"storage":{"resources":{"requests":{"storage":"0"}}}}""", "Storage size can't be equal or less than zero", "spec.Storage.resources.requests.size" },
        { "pvc-no-modes", """{"storage":null,"pvc":{"resources":{"requests":{"storage":"1Gi"}}}}""", "Required value: at least 1 access mode is required", "spec.PVC.accessModes" },
        { "pvc-two-modes", """{"storage":null,"pvc":{"accessModes":["ReadWriteOnce","ReadWriteMany"],"resources":{"requests":{"storage":"1Gi"}}}}""", "PVC multiple accessModes", "spec.PVC.accessModes" },
        { "bad-mode", """{"storage":{"accessModes":["ReadWriteSometimes"]}}""", "Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"", "spec.PVC.accessModes" },
        { "no-source", """{"source":null}""", "Data volume should have either Source or SourceRef, or be externally populated", "spec.source" },
        { "source-and-ref", """{"sourceRef":{"kind":"DataSource","name":"fedora"}}""", "Data volume should have either Source or SourceRef, or be externally populated", "spec.source" },
        { "empty-source", """{"source":{"http":null}}""", "Missing Data volume source", "spec.source" },
        { "two-sources", """{"source":{"blank":{}}}""", "Multiple Data volume sources", "spec.source" },
        { "ref-kind", """{"source":null,"sourceRef":{"kind":"PersistentVolumeClaim","name":"x"}}""", "Unsupported sourceRef kind PersistentVolumeClaim, currently only DataSource is supported", "spec.sourceRef.Kind" },
        { "http-scheme", """{"source":{"http":{"url":"ftp://images.example.com/disk.img"}}}""", "spec.source Invalid source URL scheme: ftp://images.example.com/disk.img", "spec.source.HTTP.url" },
        { "http-relative", """{"source":{"http":{"url":"images/disk.img"}}}""", "spec.source Invalid source URL: images/disk.img", "spec.source.HTTP.url" },
        { "http-empty", """{"source":{"http":{"url":""}}}""", "spec.source source URL is empty", "spec.source.HTTP.url" },
        { "checksum-algorithm", """{"source":{"http":{"checksum":"crc32:0a1b2c3d"}}}""", "Invalid checksum format: unsupported hash algorithm 'crc32': supported algorithms are: md5, sha1, sha256, sha512", "spec.source.HTTP.checksum" },
        { "checksum-length", """{"source":{"http":{"checksum":"sha256:abcd"}}}""", "Invalid checksum format: invalid sha256 hash length: expected 64 hex characters, got 4", "spec.source.HTTP.checksum" },
        { "checksum-format", """{"source":{"http":{"checksum":"abcd"}}}""", "Invalid checksum format: invalid checksum format: expected 'algorithm:hash', got 'abcd'", "spec.source.HTTP.checksum" },
        { "blank-archive", """{"source":{"http":null,"blank":{}},"contentType":"archive"}""", "SourceType cannot be blank and the contentType be archive", "spec.contentType" },
        { "registry-archive", """{"source":{"http":null,"registry":{"url":"docker://quay.io/x/disk"}},"contentType":"archive"}""", "ContentType must be kubevirt when Source is Registry", "spec.contentType" },
        { "registry-scheme", """{"source":{"http":null,"registry":{"url":"https://quay.io/x/disk"}}}""", "Illegal registry source URL scheme https://quay.io/x/disk", "spec.source.Registry.URL" },
        { "registry-both", """{"source":{"http":null,"registry":{"url":"docker://quay.io/x/disk","imageStream":"disk"}}}""", "Source registry should have either URL or ImageStream", "spec.source.Registry" },
        { "registry-stream-pod", """{"source":{"http":null,"registry":{"imageStream":"disk","pullMethod":"pod"}}}""", "Source registry ImageStream is supported only with node pull import method", "spec.source.Registry.importMethod" },
        { "clone-namespace", """{"source":{"http":null,"pvc":{"namespace":"","name":"golden"}}}""", "spec.source.PVC source PVC is not valid", "spec.source.PVC" },
        { "imageio", """{"source":{"http":null,"imageio":{"url":"https://engine.example.com/ovirt-engine/api","diskId":"d1","secretRef":"s"}}}""", "spec.source.Imageio source Imageio requires CertConfigMap or InsecureSkipVerify", "spec.source.Imageio" },
        { "vddk", """{"source":{"http":null,"vddk":{"url":"https://vcenter.example.com","uuid":"u"}}}""", "spec.source.VDDK source VDDK is not valid", "spec.source.VDDK" },
    };

    /// <summary>An RFC 7386 merge of <paramref name="patch"/> into a copy of <paramref name="target"/>.</summary>
    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject changes)
        {
            return patch?.DeepClone();
        }

        var result = target?.DeepClone() as JsonObject ?? [];
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Merge(result[key], value);
            }
        }

        return result;
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task The_webhook_refuses_what_CDI_refuses_with_its_messages(string name, string specPatch, string message, string field)
    {
        var dataVolume = HttpDataVolume(name);
        dataVolume["spec"] = Merge(dataVolume["spec"], JsonNode.Parse(specPatch));
        var (error, status) = await FailsAsync(() => CreateAsync(dataVolume));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Equal(Denied + " " + message, (string?)status["message"]);
        Assert.Null(status["reason"]);
        var cause = Assert.Single(status["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("FieldValueInvalid", message, field), ((string?)cause["reason"], (string?)cause["message"], (string?)cause["field"]));
        Assert.Null(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", name));
    }

    [Theory]
    [InlineData("""{"source":{"http":{"checksum":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}}""")]
    [InlineData("""{"source":{"http":null,"registry":{"url":"docker://quay.io/containerdisks/fedora:40"}}}""")]
    [InlineData("""{"source":{"http":null,"registry":{"imageStream":"fedora","pullMethod":"node"}}}""")]
    [InlineData("""{"source":{"http":null,"s3":{"url":"https://s3.example.com/bucket/disk.img"}},"contentType":"archive"}""")]
    [InlineData("""{"source":{"http":null,"pvc":{"namespace":"default","name":"golden"}},"storage":{"resources":null}}""")]
    [InlineData("""{"source":{"http":null,"upload":{}},"storage":{"accessModes":["ReadWriteOnce","ReadOnlyMany"]}}""")]
    [InlineData("""{"source":null,"sourceRef":{"kind":"DataSource","name":"fedora"}}""")]
    public async Task The_webhook_lets_valid_specs_through(string specPatch)
    {
        var dataVolume = HttpDataVolume("fine");
        dataVolume["spec"] = Merge(dataVolume["spec"], JsonNode.Parse(specPatch));
        var created = await CreateAsync(dataVolume);
        Assert.Equal("fine", (string?)created["metadata"]!["name"]);
    }

    [Fact]
    public async Task A_PVC_of_the_same_name_that_no_DataVolume_owns_is_refused_unless_adoption_is_allowed()
    {
        await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "disk" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, "default");

        var (_, status) = await FailsAsync(() => CreateAsync(HttpDataVolume("disk")));
        Assert.Equal(Denied + " Destination PVC default/disk already exists", (string?)status["message"]);
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal(("FieldValueDuplicate", "DataVolume.Name"), ((string?)cause["reason"], (string?)cause["field"]));

        await CreateAsync(WithAnnotation(HttpDataVolume("disk"), "cdi.kubevirt.io/allowClaimAdoption", "true"));
    }

    [Fact]
    public async Task The_spec_cannot_change_after_creation_but_metadata_and_status_can()
    {
        await CreateAsync(HttpDataVolume("disk"));
        var (error, status) = await FailsAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"source":{"http":{"url":"https://images.example.com/other.qcow2"}}}}""", V1Patch.PatchType.MergePatch),
            Cdi, V1Beta1, "default", "datavolumes", "disk"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Equal(Denied + " Cannot update DataVolume Spec", (string?)status["message"]);
        Assert.Equal("DataVolume.Spec", (string?)status["details"]!["causes"]![0]!["field"]);

        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"metadata":{"labels":{"team":"storage"}}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "default", "datavolumes", "disk");
        await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"phase":"Pending"}}""", V1Patch.PatchType.MergePatch), Cdi, V1Beta1, "default", "datavolumes", "disk");
        var current = await GetAsync("disk");
        Assert.Equal("storage", (string?)current["metadata"]!["labels"]!["team"]);
        Assert.Equal("Pending", Phase(current));
    }

    [Fact]
    public async Task A_dry_run_is_refused_too_and_schema_errors_come_first()
    {
        var dataVolume = HttpDataVolume("dry");
        dataVolume["spec"]!.AsObject().Remove("storage");
        var (_, status) = await FailsAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync(dataVolume, Cdi, V1Beta1, "default", "datavolumes", dryRun: "All"));
        Assert.Equal(Denied + " Missing Data volume PVC", (string?)status["message"]);

        var noName = HttpDataVolume("schema");
        noName["spec"]!["source"] = JsonNode.Parse("""{"pvc":{"name":"golden"}}""");
        var (_, schema) = await FailsAsync(() => CreateAsync(noName));
        Assert.Equal("Invalid", (string?)schema["reason"]);
        Assert.Contains("spec.source.pvc.namespace: Required value", (string?)schema["message"]);
    }

    [Fact]
    public async Task Without_the_webhook_any_DataVolume_the_schema_accepts_is_stored()
    {
        Server.DataVolumeWebhook = false;
        var dataVolume = HttpDataVolume("anything");
        dataVolume["spec"]!.AsObject().Remove("storage");
        await CreateAsync(dataVolume);
        Assert.NotNull(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "anything"));
    }
}
