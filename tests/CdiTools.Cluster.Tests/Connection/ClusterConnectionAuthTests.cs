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
