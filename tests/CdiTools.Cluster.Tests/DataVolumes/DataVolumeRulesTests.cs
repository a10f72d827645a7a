using CdiTools.Cluster.DataVolumes;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Each check New-CdiDataVolume makes before sending, with CDI's reason where CDI has one.</summary>
public sealed class DataVolumeRulesTests
{
    private static readonly DataVolumeRequest Http = new() { Name = "disk", Source = DataVolumeSourceKind.Http, Url = "https://images.example/disk.qcow2", Size = 10L << 30 };

    private static DataVolumeProblem Single(DataVolumeRequest request)
    {
        var problems = DataVolumeRules.Check(request);
        Assert.True(problems.Count == 1, string.Join("\n", problems));
        return problems[0];
    }

    public static TheoryData<string, DataVolumeRequest, string, string> Refused => new()
    {
        { "bad name", Http with { Name = "Disk_1" }, "InvalidName", "not a valid DataVolume name" },
        { "long name", Http with { Name = new string('a', 64) }, "NameTooLong", "keep it to 63" },
        { "bad namespace", Http with { Namespace = "VMs" }, "InvalidNamespace", "not a valid namespace" },
        { "no size", Http with { Size = null }, "SizeMissing", "needs a size" },
        { "zero size", Http with { Size = 0 }, "SizeNotPositive", "greater than zero" },
        { "tiny size", Http with { Size = 1024 * 1024 - 1 }, "SizeTooSmall", "should be at least 1 MiB" },
        { "pvc API clone without size", new DataVolumeRequest { Name = "c", Source = DataVolumeSourceKind.Pvc, SourceName = "src", UsePvcApi = true }, "SizeMissing", "pvc API needs a size" },
        { "archive on Block", Http with { ContentType = "archive", VolumeMode = "Block" }, "ArchiveOnBlock", "ContentType Archive cannot have block volumeMode" },
        { "blank archive", new DataVolumeRequest { Name = "b", Source = DataVolumeSourceKind.Blank, Size = 1L << 30, ContentType = "archive" }, "ArchiveNotSupported", "SourceType cannot be blank and the contentType be archive" },
        { "registry archive", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "docker://q/i", Size = 1L << 30, ContentType = "archive" }, "ArchiveNotSupported", "ContentType must be kubevirt when Source is Registry" },
        { "content type", Http with { ContentType = "iso" }, "InvalidContentType", "ContentType not one of: kubevirt, archive" },
        { "image stream with pod pull", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, ImageStream = "fedora", Size = 1L << 30 }, "ImageStreamNeedsNodePull", "supported only with node pull" },
        { "registry URL and image stream", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "docker://q/i", ImageStream = "fedora", PullMethod = "node", Size = 1L << 30 }, "RegistrySourceInvalid", "either URL or ImageStream" },
        { "registry scheme", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "https://quay.io/i", Size = 1L << 30 }, "InvalidRegistryUrl", "Illegal registry source URL scheme" },
        { "pull method", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "docker://q/i", PullMethod = "kubelet", Size = 1L << 30 }, "InvalidPullMethod", "neither pod, node" },
        { "http scheme", Http with { Url = "ftp://images.example/disk.img" }, "InvalidSourceUrl", "Invalid source URL scheme" },
        { "relative URL", Http with { Url = "disk.img" }, "InvalidSourceUrl", "Invalid source URL" },
        { "password in URL", Http with { Url = "https://u:p@images.example/disk.img" }, "CredentialInUrl", "pass -Credential instead" },
        { "no URL", Http with { Url = null }, "SourceUrlMissing", "needs a URL" },
        { "two sources", Http with { SourceName = "src" }, "MultipleSources", "exactly one source" },
        { "checksum algorithm", Http with { Checksum = "crc32:abcd" }, "InvalidChecksum", "supported algorithms are: md5, sha1, sha256, sha512" },
        { "checksum length", Http with { Checksum = "sha256:abcd" }, "InvalidChecksum", "expected 64 hex characters" },
        { "checksum form", Http with { Checksum = "abcd" }, "InvalidChecksum", "expected 'algorithm:hash'" },
        { "header line", Http with { ExtraHeaders = ["Authorization Bearer x"] }, "InvalidHeader", "not a header line" },
        { "credential and secret", Http with { Credential = new("u", "p"), SecretName = "s" }, "CredentialConflict", "not both" },
        { "CA file and config map", Http with { CertificatePem = DataVolumeManifestTests.TestPem(), CertConfigMap = "ca" }, "CertificateConflict", "not both" },
        { "CA and skip", Http with { CertConfigMap = "ca", SkipCertificateCheck = true }, "CertificateConflict", "one or the other" },
        { "not a certificate", Http with { CertificatePem = "hello" }, "InvalidCertificate", "holds no PEM certificate" },
        { "access mode", Http with { AccessModes = ["ReadWriteSometimes"] }, "InvalidAccessMode", "not an access mode" },
        { "two access modes in pvc API", Http with { AccessModes = ["ReadWriteOnce", "ReadWriteMany"], UsePvcApi = true }, "MultipleAccessModes", "takes one access mode" },
        { "volume mode", Http with { VolumeMode = "Raw" }, "InvalidVolumeMode", "Filesystem or Block" },
        { "storage class", Http with { StorageClass = "Fast SSD" }, "InvalidStorageClass", "not a valid StorageClass" },
        { "label key", Http with { Labels = new Dictionary<string, string> { ["bad key!"] = "x" } }, "InvalidMetadataKey", "not a valid label or annotation key" },
        { "clone without source", new DataVolumeRequest { Name = "c", Source = DataVolumeSourceKind.Pvc }, "CloneSourceMissing", "needs the name" },
        { "gcs with password", new DataVolumeRequest { Name = "g", Source = DataVolumeSourceKind.Gcs, Url = "gs://b/o", Credential = new("u", "p"), Size = 1L << 30 }, "GcsNeedsServiceAccountKey", "service account key" },
        { "gcs key not JSON", new DataVolumeRequest { Name = "g", Source = DataVolumeSourceKind.Gcs, Url = "gs://b/o", ServiceAccountKey = "not json", Size = 1L << 30 }, "InvalidServiceAccountKey", "not JSON" },
        { "imageio without disk", new DataVolumeRequest { Name = "i", Source = DataVolumeSourceKind.ImageIo, Url = "https://engine/ovirt-engine/api", SecretName = "s", CertConfigMap = "ca", Size = 1L << 30 }, "ImageIoIncomplete", "needs -DiskId" },
        { "imageio without CA", new DataVolumeRequest { Name = "i", Source = DataVolumeSourceKind.ImageIo, Url = "https://engine/ovirt-engine/api", DiskId = "d", SecretName = "s", Size = 1L << 30 }, "CertificateRequired", "requires CertConfigMap or InsecureSkipVerify" },
        { "vddk without credentials", new DataVolumeRequest { Name = "v", Source = DataVolumeSourceKind.Vddk, Url = "https://vcenter/sdk", Uuid = "u", BackingFile = "[ds] vm.vmdk", Thumbprint = "t", Size = 1L << 30 }, "CredentialRequired", "needs credentials" },
        { "vddk without thumbprint", new DataVolumeRequest { Name = "v", Source = DataVolumeSourceKind.Vddk, Url = "https://vcenter/sdk", Uuid = "u", BackingFile = "[ds] vm.vmdk", SecretName = "s", Size = 1L << 30 }, "VddkIncomplete", "-Thumbprint is missing" },
        { "skip check on registry", new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "docker://q/i", SkipCertificateCheck = true, Size = 1L << 30 }, "MultipleSources", "does not take -SkipCertificateCheck" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses(string what, DataVolumeRequest request, string id, string reason)
    {
        var problem = Single(request);

        Assert.True(problem.Id == id, $"{what}: {problem}");
        Assert.Contains(reason, problem.Message);
    }

    public static TheoryData<DataVolumeRequest> Accepted => new()
    {
        Http,
        Http with { Checksum = "SHA256:" + new string('a', 64), ExtraHeaders = ["X-Token: abc"], Credential = new("u", "p"), CertificatePem = DataVolumeManifestTests.TestPem() },
        Http with { ContentType = "archive", Url = "https://images.example/root.tar" },
        new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, ImageStream = "fedora", PullMethod = "node", Size = 1L << 30 },
        new DataVolumeRequest { Name = "r", Source = DataVolumeSourceKind.Registry, Url = "oci-archive:///images/disk.tar", Size = 1L << 30 },
        new DataVolumeRequest { Name = "u", Source = DataVolumeSourceKind.Upload, Size = 1L << 20, ContentType = "archive" },
        new DataVolumeRequest { Name = "c", Source = DataVolumeSourceKind.Pvc, SourceName = "src", SourceNamespace = "golden" },
        new DataVolumeRequest { Name = "c", Source = DataVolumeSourceKind.DataSource, SourceName = "fedora", SourceNamespace = "os-images" },
        new DataVolumeRequest { Name = "s", Source = DataVolumeSourceKind.S3, Url = "https://s3.example/bucket/disk.qcow2", SecretName = "s3", Size = 1L << 30 },
        new DataVolumeRequest { Name = "g", Source = DataVolumeSourceKind.Gcs, Url = "gs://bucket/disk.img", ServiceAccountKey = "{}", Size = 1L << 30 },
        new DataVolumeRequest { Name = "i", Source = DataVolumeSourceKind.ImageIo, Url = "https://engine/ovirt-engine/api", DiskId = "d", Credential = new("admin@internal", "p"), SkipCertificateCheck = true, Size = 1L << 30 },
        new DataVolumeRequest { Name = "v", Source = DataVolumeSourceKind.Vddk, Url = "https://vcenter/sdk", Uuid = "u", BackingFile = "[ds] vm.vmdk", Thumbprint = "t", SecretName = "s", Size = 1L << 30 },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Accepts(DataVolumeRequest request) => Assert.Empty(DataVolumeRules.Check(request));

    [Fact]
    public void Several_problems_are_all_reported()
    {
        var problems = DataVolumeRules.Check(Http with { Name = "Bad", Size = 10, VolumeMode = "Raw" });

        Assert.Equal(["InvalidName", "SizeTooSmall", "InvalidVolumeMode"], problems.Select(p => p.Id));
    }

    [Fact]
    public void A_header_value_never_appears_in_a_message()
    {
        var problem = Single(Http with { ExtraHeaders = ["X-Ok: 1", "Token abc123"] });

        Assert.DoesNotContain("abc123", problem.Message);
        Assert.Contains("Extra header 2", problem.Message);
    }
}
