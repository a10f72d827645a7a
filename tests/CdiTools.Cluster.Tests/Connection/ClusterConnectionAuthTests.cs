using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Testing.FakeCluster;

namespace CdiTools.Cluster.Tests.Connection;

/// <summary>Connections made the way the cmdlets make them, authenticated each way a kubeconfig can say.</summary>
public sealed class ClusterConnectionAuthTests : FakeClusterHarness
{
    [Theory]
    [InlineData(KubeconfigAuth.Token)]
    [InlineData(KubeconfigAuth.ClientCertificate)]
    [InlineData(KubeconfigAuth.Exec)]
    public async Task Every_kind_of_credential_reaches_the_server_as_the_user(KubeconfigAuth auth)
    {
        Server.AddStorageClass("standard", isDefault: true);
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{auth}"), "fake", "vms", auth);

        var connection = ClusterConnections.Connect(new ClusterTarget(path));
        var classes = await new CdiApi(connection).ListStorageClassesAsync(default);

        Assert.Equal("standard", Assert.Single(classes).Metadata.Name);
        Assert.Equal("vms", connection.Namespace);
        Assert.Equal("fake", connection.Context);
        Assert.Equal(Server.BaseUri.ToString().TrimEnd('/'), connection.Server.TrimEnd('/'));
        var request = Server.Requests.Last(r => r.Path == "/apis/storage.k8s.io/v1/storageclasses");
        Assert.Equal(Server.UserName, request.User);
        Assert.Equal(200, request.Status);
    }

    [Fact]
    public async Task A_server_nobody_listens_on_is_ClusterUnreachable_naming_the_server_and_kubeconfig()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var path = Server.WriteKubeconfig(Folder.File("kubeconfig"));
        File.WriteAllText(path, File.ReadAllText(path).Replace(Server.BaseUri.ToString().TrimEnd('/'), $"https://127.0.0.1:{port}"));

        var error = await Assert.ThrowsAsync<ClusterException>(() => new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))).ListStorageClassesAsync(default));

        Assert.Equal("ClusterUnreachable", error.ErrorId);
        Assert.Equal(ClusterErrorKind.Unavailable, error.Kind);
        Assert.Contains($"https://127.0.0.1:{port}", error.Message);
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain("inner exception", error.Message);
    }

    [Fact]
    public async Task A_host_name_that_does_not_resolve_is_ClusterUnreachable_saying_so()
    {
        var path = Server.WriteKubeconfig(Folder.File("kubeconfig"));
        File.WriteAllText(path, File.ReadAllText(path).Replace(Server.BaseUri.ToString().TrimEnd('/'), "https://no-such-host.invalid:6443"));

        var error = await Assert.ThrowsAsync<ClusterException>(() => new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))).ListStorageClassesAsync(default));

        Assert.Equal("ClusterUnreachable", error.ErrorId);
        Assert.Contains("no-such-host.invalid", error.Message);
        Assert.Contains("does not resolve", error.Message);
    }

    [Fact]
    public async Task A_server_certificate_the_kubeconfig_does_not_trust_is_ClusterTlsUntrusted()
    {
        // Another CA than the one that signed the server's certificate.
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=someone else", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var otherData = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(other.ExportCertificatePem()));
        var path = Server.WriteKubeconfig(Folder.File("kubeconfig"));
        var text = File.ReadAllText(path);
        var start = text.IndexOf("certificate-authority-data: ", StringComparison.Ordinal) + "certificate-authority-data: ".Length;
        var end = text.IndexOf('\n', start);
        File.WriteAllText(path, text[..start] + otherData + text[end..]);

        var error = await Assert.ThrowsAsync<ClusterException>(() => new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))).ListStorageClassesAsync(default));

        Assert.Equal("ClusterTlsUntrusted", error.ErrorId);
        Assert.Equal(ClusterErrorKind.Untrusted, error.Kind);
        Assert.Contains(Server.BaseUri.Host, error.Message);
        Assert.Contains("certificate-authority", error.Message);
    }

    [Fact]
    public async Task A_refused_token_is_an_Unauthorized_error()
    {
        var path = Server.WriteKubeconfig(Folder.File("kubeconfig"));
        File.WriteAllText(path, File.ReadAllText(path).Replace(Server.Token, "not-a-token"));

        var error = await Assert.ThrowsAsync<ClusterException>(() => new CdiApi(ClusterConnections.Connect(new ClusterTarget(path))).ListStorageClassesAsync(default));

        Assert.Equal(ClusterErrorKind.Unauthorized, error.Kind);
        Assert.Contains("(401)", error.Message);
        Assert.DoesNotContain("not-a-token", error.Message);
    }
}
