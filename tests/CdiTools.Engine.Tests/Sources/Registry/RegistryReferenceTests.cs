using CdiTools.Engine.Sources.Registry;

namespace CdiTools.Engine.Tests.Sources.Registry;

public sealed class RegistryReferenceTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static readonly string[] NonGoArchitectures = ["x64", "x86_64", "aarch64"];

    [Theory]
    [InlineData("docker://cirros", "docker.io", "registry-1.docker.io", "library/cirros", "latest", null)]
    [InlineData("docker://kubevirt/cirros:v1", "docker.io", "registry-1.docker.io", "kubevirt/cirros", "v1", null)]
    [InlineData("docker://index.docker.io/library/fedora:40", "docker.io", "registry-1.docker.io", "library/fedora", "40", null)]
    [InlineData("docker://quay.io/kubevirt/cirros-container-disk-demo:latest", "quay.io", "quay.io", "kubevirt/cirros-container-disk-demo", "latest", null)]
    [InlineData("docker://localhost:5000/disks/x", "localhost:5000", "localhost:5000", "disks/x", "latest", null)]
    [InlineData("docker://127.0.0.1:5000/a/b:c@" + Digest, "127.0.0.1:5000", "127.0.0.1:5000", "a/b", "c", Digest)]
    [InlineData("docker://registry.example/a/b@" + Digest, "registry.example", "registry.example", "a/b", null, Digest)]
    public void Parse_AppliesDockersDefaults(string text, string registry, string apiHost, string repository, string? tag, string? digest)
    {
        var reference = ContainerImageReference.Parse(text);

        Assert.Equal(ContainerImageTransport.Docker, reference.Transport);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(apiHost, reference.ApiHost);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Equal(digest ?? tag, reference.ManifestReference);
    }

    [Theory]
    [InlineData("docker://Quay.io/UPPER/case")]
    [InlineData("docker://quay.io/a/b:")]
    [InlineData("docker://quay.io/a/b@sha512:abcd")]
    [InlineData("docker://quay.io/a/b@sha256:ABCDEF")]
    [InlineData("docker://quay.io/a//b")]
    [InlineData("http://quay.io/a/b")]
    [InlineData("oci-archive:")]
    public void Parse_RefusesMalformedReferences(string text)
    {
        var error = Assert.Throws<ImageException>(() => ContainerImageReference.Parse(text));

        Assert.Equal("RegistryInvalidReference", error.ErrorId);
    }

    [Theory]
    [InlineData("docker://quay.io/kubevirt/cirros-container-disk-demo:latest", "cirros")]
    [InlineData("docker://quay.io/kubevirt/fedora-cloud-container-disk-demo", "fedora-cloud")]
    [InlineData("docker://quay.io/containerdisks/fedora:40", "fedora-40")]
    [InlineData("docker://quay.io/containerdisks/ubuntu:22.04", "ubuntu-22.04")]
    [InlineData("docker://registry.example/a/b-containerdisk@" + Digest, "b")]
    [InlineData("oci-archive:///images/cirros.tar", "cirros.tar")]
    [InlineData("oci-archive://cirros.tar", "cirros.tar")]
    public void Name_IsTheRepositoryWithoutContainerDiskSuffixes(string text, string name)
    {
        Assert.Equal(name, ContainerImageReference.Parse(text).Name);
    }

    [Theory]
    [InlineData("oci-archive:///images/cirros.tar", "/images/cirros.tar")]
    [InlineData("oci-archive://cirros.tar", "cirros.tar")]
    [InlineData("oci-archive:sub/cirros.tar", "sub/cirros.tar")]
    public void Parse_OciArchive_TakesThePath(string text, string path)
    {
        var reference = ContainerImageReference.Parse(text);

        Assert.Equal(ContainerImageTransport.OciArchive, reference.Transport);
        Assert.Equal(path, reference.ArchivePath);
    }

    [Theory]
    [InlineData("localhost:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("quay.io", false)]
    [InlineData("10.0.0.1:5000", false)]
    public void IsLoopback_OnlyForThisMachine(string registry, bool loopback)
    {
        Assert.Equal(loopback, ContainerImageReference.Parse($"docker://{registry}/a/b").IsLoopback);
    }

    [Theory]
    [InlineData("linux/arm64", "linux", "arm64", "v8", 2)]
    [InlineData("linux/arm64", "linux", "arm64", null, 2)]
    [InlineData("linux/arm64/v8", "linux", "aarch64", null, 2)]
    [InlineData("linux/arm/v7", "linux", "arm", "v6", 0)]
    [InlineData("linux/arm", "linux", "arm", "v6", 1)]
    [InlineData("amd64", "linux", "amd64", null, 2)]
    [InlineData("x86_64", "linux", "amd64", null, 2)]
    [InlineData("linux/amd64", "windows", "amd64", null, 0)]
    [InlineData("linux/amd64", "linux", "arm64", null, 0)]
    public void Platform_Fit(string wanted, string os, string architecture, string? variant, int fit)
    {
        Assert.Equal(fit, ImagePlatform.Parse(wanted).Fit(os, architecture, variant));
    }

    [Theory]
    [InlineData("")]
    [InlineData("linux//amd64")]
    [InlineData("a/b/c/d")]
    [InlineData("linux/amd 64")]
    public void Platform_RefusesWhatIsNotOne(string text)
    {
        Assert.Equal("RegistryInvalidPlatform", Assert.Throws<ImageException>(() => ImagePlatform.Parse(text)).ErrorId);
    }

    [Fact]
    public void Platform_Current_IsLinuxInGoNames()
    {
        Assert.Equal("linux", ImagePlatform.Current.Os);
        Assert.DoesNotContain(ImagePlatform.Current.Architecture, NonGoArchitectures);
    }

    [Fact]
    public void Challenge_Bearer_QuotedParametersWithCommas()
    {
        var parameters = AuthChallenge.ParseParameters("realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"");

        Assert.Equal("https://auth.example/token", parameters["realm"]);
        Assert.Equal("registry.example", parameters["service"]);
        Assert.Equal("repository:a/b:pull,push", parameters["scope"]);
        Assert.Equal("insufficient_scope", parameters["error"]);
    }

    [Fact]
    public void Challenge_UnquotedAndEscaped()
    {
        var parameters = AuthChallenge.ParseParameters("realm=test, service = \"a\\\"b\"");

        Assert.Equal("test", parameters["realm"]);
        Assert.Equal("a\"b", parameters["service"]);
    }

    [Fact]
    public void Options_ToString_HidesThePassword()
    {
        var options = new RegistryOptions { Http = new Engine.Sources.Http.HttpSourceOptions { Credential = new System.Net.NetworkCredential("user", "s3cret-pass") } };

        Assert.DoesNotContain("s3cret-pass", options.ToString(), StringComparison.Ordinal);
    }
}
