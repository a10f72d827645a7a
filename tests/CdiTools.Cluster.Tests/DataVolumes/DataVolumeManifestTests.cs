using System.Text.Json;
using System.Text.Json.Nodes;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Testing;
using k8s;
using YamlDotNet.Serialization;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>The objects New-CdiDataVolume sends, compared with CDI's own example manifests and with the keys CDI's importer reads.</summary>
public sealed class DataVolumeManifestTests
{
    private static readonly string[] PipedNames = ["a", "b", "c"];

    private static JsonNode Example(string file)
    {
        var yaml = File.ReadAllText(Path.Combine(RepositoryPaths.CdiReference, "examples", file));
        var data = new DeserializerBuilder().Build().Deserialize<object>(yaml);
        return JsonNode.Parse(JsonSerializer.Serialize(data))!;
    }

    private static JsonNode Sent(DataVolumeManifest manifest)
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(manifest.DataVolume))!;
        node["metadata"]!.AsObject().Remove("namespace");
        return node;
    }

    private static DataVolumeRequest Request(string name, DataVolumeSourceKind source) => new() { Name = name, Source = source };

    public static TheoryData<string, DataVolumeRequest> Examples => new()
    {
        { "registry-image-datavolume.yaml", Request("registry-image-datavolume", DataVolumeSourceKind.Registry) with { Url = "docker://kubevirt/fedora-cloud-registry-disk-demo", Size = 5L << 30 } },
        { "blank-image-datavolume.yaml", Request("blank-image-datavolume", DataVolumeSourceKind.Blank) with { Size = 500L << 20 } },
        { "upload-datavolume.yaml", Request("upload-datavolume", DataVolumeSourceKind.Upload) with { Size = 500L << 20 } },
        { "import-archive-datavolume.yaml", Request("import-archive-datavolume", DataVolumeSourceKind.Http) with { Url = "http://geolite.maxmind.com/download/geoip/database/GeoLite2-Country.tar.gz", ContentType = "archive", Size = 500L << 20 } },
        { "import-kubevirt-datavolume-secret.yaml", Request("my-data-volume", DataVolumeSourceKind.Http) with { Url = "https://download.cirros-cloud.net/0.4.0/cirros-0.4.0-x86_64-disk.img", SecretName = "endpoint-secret", Size = 500L << 20 } },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void A_request_gives_the_DataVolume_of_CDI_s_example(string file, DataVolumeRequest request)
    {
        var sent = Sent(DataVolumeManifestBuilder.Build(request, "default"));

        Assert.True(JsonNode.DeepEquals(Example(file), sent), $"Sent:\n{sent.ToJsonString()}\nExample:\n{Example(file).ToJsonString()}");
    }

    [Fact]
    public void A_clone_with_the_storage_API_leaves_the_size_to_CDI_and_names_the_source_namespace()
    {
        var manifest = DataVolumeManifestBuilder.Build(Request("cloned-datavolume", DataVolumeSourceKind.Pvc) with { SourceName = "source-datavolume", SourceNamespace = "source-ns" }, "default");

        var sent = Sent(manifest);
        Assert.Equal("source-ns", (string?)sent["spec"]!["source"]!["pvc"]!["namespace"]);
        Assert.Equal("source-datavolume", (string?)sent["spec"]!["source"]!["pvc"]!["name"]);
        Assert.Null(sent["spec"]!["storage"]!["resources"]);

        var sameNamespace = DataVolumeManifestBuilder.Build(Request("copy", DataVolumeSourceKind.Snapshot) with { SourceName = "snap" }, "vms");
        Assert.Equal("vms", sameNamespace.DataVolume.Spec!.Source!.Snapshot!.Namespace);
    }

    [Fact]
    public void Credentials_go_into_a_new_Secret_with_CDI_s_keys_and_a_CA_bundle_into_a_new_ConfigMap()
    {
        var pem = TestPem();
        var manifest = DataVolumeManifestBuilder.Build(
            Request("disk", DataVolumeSourceKind.Http) with { Url = "https://images.example/disk.qcow2", Credential = new("reader", "s3cret"), CertificatePem = pem, Size = 10L << 30 },
            "vms");

        Assert.Equal("disk-source-credentials", manifest.Secret!.Metadata.Name);
        Assert.Equal("vms", manifest.Secret.Metadata.NamespaceProperty);
        Assert.Equal(new Dictionary<string, string> { ["accessKeyId"] = "reader", ["secretKey"] = "s3cret" }, manifest.Secret.StringData);
        Assert.Equal("disk-source-ca", manifest.ConfigMap!.Metadata.Name);
        Assert.Equal(pem, manifest.ConfigMap.Data["ca.pem"]);
        Assert.Equal("disk-source-credentials", manifest.DataVolume.Spec!.Source!.Http!.SecretRef);
        Assert.Equal("disk-source-ca", manifest.DataVolume.Spec.Source.Http.CertConfigMap);
        Assert.Equal(["Secret", "ConfigMap", "DataVolume"], manifest.Objects().Select(o => o.Kind));
    }

    [Fact]
    public void A_registry_CA_is_stored_under_a_key_ending_in_crt_and_a_GCS_key_as_credentials_json()
    {
        var registry = DataVolumeManifestBuilder.Build(
            Request("reg", DataVolumeSourceKind.Registry) with { Url = "docker://quay.example/disk:1", CertificatePem = TestPem(), PullMethod = "node", Size = 1L << 30 }, "default");
        Assert.Equal(["ca.crt"], registry.ConfigMap!.Data.Keys);
        Assert.Equal("node", registry.DataVolume.Spec!.Source!.Registry!.PullMethod);

        var gcs = DataVolumeManifestBuilder.Build(
            Request("g", DataVolumeSourceKind.Gcs) with { Url = "gs://bucket/disk.img", ServiceAccountKey = """{"type":"service_account"}""", Size = 1L << 30 }, "default");
        Assert.Equal(["credentials.json"], gcs.Secret!.StringData.Keys);
        Assert.Equal("g-source-credentials", gcs.DataVolume.Spec!.Source!.Gcs!.SecretRef);
    }

    [Fact]
    public void Every_common_setting_lands_where_CDI_reads_it()
    {
        var manifest = DataVolumeManifestBuilder.Build(
            Request("disk", DataVolumeSourceKind.Upload) with
            {
                Size = (3L << 30) + (512L << 20),
                StorageClass = "fast",
                AccessModes = ["ReadWriteMany"],
                VolumeMode = "Block",
                Preallocation = true,
                BindImmediately = true,
                Labels = new Dictionary<string, string> { ["team"] = "vm" },
                Annotations = new Dictionary<string, string> { ["note"] = "x" },
            },
            "vms");

        var dv = manifest.DataVolume;
        Assert.Equal("3584Mi", dv.Spec!.Storage!.Resources!.Requests["storage"].ToString());
        Assert.Equal("fast", dv.Spec.Storage.StorageClassName);
        Assert.Equal(["ReadWriteMany"], dv.Spec.Storage.AccessModes!);
        Assert.Equal("Block", dv.Spec.Storage.VolumeMode);
        Assert.True(dv.Spec.Preallocation);
        Assert.Equal("true", dv.Metadata.Annotations["cdi.kubevirt.io/storage.bind.immediate.requested"]);
        Assert.Equal("x", dv.Metadata.Annotations["note"]);
        Assert.Equal("vm", dv.Metadata.Labels["team"]);
        Assert.Null(dv.Spec.Pvc);
        Assert.Null(dv.Spec.ContentType);
    }

    [Fact]
    public void The_pvc_API_is_the_claim_as_written_with_an_access_mode()
    {
        var dv = DataVolumeManifestBuilder.Build(Request("disk", DataVolumeSourceKind.Blank) with { Size = 1L << 30, UsePvcApi = true }, "default").DataVolume;

        Assert.Null(dv.Spec!.Storage);
        Assert.Equal(["ReadWriteOnce"], dv.Spec.Pvc!.AccessModes!);
        Assert.Equal("1Gi", dv.Spec.Pvc.Resources!.Requests["storage"].ToString());
    }

    [Fact]
    public void The_YAML_hides_secret_values_unless_asked_and_parses_back_to_the_same_objects()
    {
        var manifest = DataVolumeManifestBuilder.Build(
            Request("disk", DataVolumeSourceKind.Http) with { Url = "https://images.example/disk.qcow2", Credential = new("reader", "s3cret"), Size = 10L << 30 }, "vms");

        var hidden = DataVolumeManifestYaml.Render(manifest, includeSecretValues: false);
        var shown = DataVolumeManifestYaml.Render(manifest, includeSecretValues: true);

        Assert.DoesNotContain("s3cret", hidden);
        Assert.DoesNotContain("reader", hidden);
        Assert.Contains("accessKeyId: <redacted>", hidden);
        Assert.Contains("secretKey: s3cret", shown);
        var documents = KubernetesYaml.LoadAllFromString(shown, new Dictionary<string, Type> { ["cdi.kubevirt.io/v1beta1/DataVolume"] = typeof(Models.DataVolume) });
        Assert.Equal(2, documents.Count);
        Assert.Equal("s3cret", Assert.IsType<k8s.Models.V1Secret>(documents[0]).StringData["secretKey"]);
        var dataVolume = Assert.IsType<Models.DataVolume>(documents[1]);
        Assert.Equal(KubernetesJson.Serialize(manifest.DataVolume), KubernetesJson.Serialize(dataVolume));
        Assert.DoesNotContain("requested", shown, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("")]
    [InlineData("\r\n")]
    public void Manifests_written_one_after_another_stay_separate_documents(string between)
    {
        // What a pipeline of -AsManifest hands kubectl apply: each manifest a string, joined by
        // PowerShell with a line break, or written to a file back to back.
        var rendered = PipedNames.Select(name => DataVolumeManifestYaml.Render(
            DataVolumeManifestBuilder.Build(Request(name, DataVolumeSourceKind.Http) with { Url = $"https://x/{name}.img", Credential = new("u", "p"), Size = 1L << 30 }, "vms"),
            includeSecretValues: false));

        var stream = string.Join(between, rendered);

        var documents = KubernetesYaml.LoadAllFromString(stream, new Dictionary<string, Type> { ["cdi.kubevirt.io/v1beta1/DataVolume"] = typeof(Models.DataVolume) });
        Assert.Equal(["a", "b", "c"], documents.OfType<Models.DataVolume>().Select(d => d.Metadata.Name));
        Assert.Equal(["a-source-credentials", "b-source-credentials", "c-source-credentials"], documents.OfType<k8s.Models.V1Secret>().Select(d => d.Metadata.Name));
    }

    [Fact]
    public void Without_a_namespace_the_objects_name_none_and_a_clone_needs_its_source_namespace()
    {
        var manifest = DataVolumeManifestBuilder.Build(Request("disk", DataVolumeSourceKind.Http) with { Url = "https://x/d.img", Credential = new("u", "p"), Size = 1L << 30 }, null);
        Assert.Null(manifest.DataVolume.Metadata.NamespaceProperty);
        Assert.Null(manifest.Secret!.Metadata.NamespaceProperty);
        Assert.DoesNotContain("namespace", DataVolumeManifestYaml.Render(manifest, false));

        var error = Assert.Throws<DataVolumeRequestException>(() => DataVolumeManifestBuilder.Build(Request("c", DataVolumeSourceKind.Pvc) with { SourceName = "src" }, null));
        Assert.Equal("SourceNamespaceRequired", error.ErrorId);
    }

    [Fact]
    public void A_request_CDI_would_refuse_is_not_built()
    {
        var error = Assert.Throws<DataVolumeRequestException>(() => DataVolumeManifestBuilder.Build(Request("disk", DataVolumeSourceKind.Upload), "default"));

        Assert.Equal("SizeMissing", error.ErrorId);
    }

    internal static string TestPem()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Test CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.ExportCertificatePem() + "\n";
    }
}

/// <summary>Sizes as admins write them.</summary>
public sealed class StorageSizeTests
{
    [Theory]
    [InlineData("10737418240", 10737418240L)]
    [InlineData("10Gi", 10737418240L)]
    [InlineData("10GiB", 10737418240L)]
    [InlineData("1.5Gi", 1610612736L)]
    [InlineData("500Mi", 524288000L)]
    [InlineData("20G", 20000000000L)]
    [InlineData(" 2Ti ", 2199023255552L)]
    [InlineData("1500m", 2L)]
    public void Reads(string text, long bytes) => Assert.Equal(bytes, StorageSize.Parse(text));

    [Theory]
    [InlineData("10GB")]
    [InlineData("ten gigs")]
    [InlineData("-5Gi")]
    [InlineData("")]
    public void Refuses_with_the_forms_it_takes(string text)
    {
        var error = Assert.Throws<FormatException>(() => StorageSize.Parse(text));
        Assert.Contains("Kubernetes quantity", error.Message);
    }
}
