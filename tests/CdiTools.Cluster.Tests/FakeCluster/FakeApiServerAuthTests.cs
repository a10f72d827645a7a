using System.Net;
using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CdiTools.Cluster.Tests.FakeCluster;

public sealed class FakeApiServerAuthTests : FakeClusterHarness
{
    [Theory]
    [InlineData(KubeconfigAuth.Token, "token")]
    [InlineData(KubeconfigAuth.ClientCertificate, "x509")]
    [InlineData(KubeconfigAuth.Exec, "token")]
    public async Task Each_kind_of_kubeconfig_authenticates_as_the_server_user(KubeconfigAuth auth, string authenticatedBy)
    {
        var client = ClientFor(auth, defaultNamespace: "default");
        var namespaces = await client.CoreV1.ListNamespaceAsync();
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
        var request = Server.Requests[^1];
        Assert.Equal(200, request.Status);
        Assert.Equal(Server.UserName, request.User);
        Assert.Equal(authenticatedBy, request.AuthenticatedBy);
    }

    [Fact]
    public void The_exec_plugin_supplies_its_own_token()
    {
        var path = Server.WriteKubeconfig(Folder.File("exec-kubeconfig"), "exec-context", "images", KubeconfigAuth.Exec);
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        Assert.Equal(Server.ExecToken, config.AccessToken);
        Assert.NotEqual(Server.Token, config.AccessToken);
        Assert.Equal("images", config.Namespace);
        Assert.Equal(Server.BaseUri.GetLeftPart(UriPartial.Authority), config.Host.TrimEnd('/'));
    }

    [Fact]
    public async Task Requests_without_valid_credentials_are_Unauthorized()
    {
        // A kubeconfig user without credentials is refused by the client itself, as with a real cluster.
        var none = Server.WriteKubeconfig(Folder.File("no-credentials"), auth: KubeconfigAuth.None);
        Assert.Throws<k8s.Exceptions.KubeConfigException>(() => KubernetesClientConfiguration.BuildConfigFromConfigFile(none));

        var authorities = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        authorities.ImportFromPem(Server.CertificateAuthorityPem);
        using var anonymous = new Kubernetes(new KubernetesClientConfiguration
        {
            Host = Server.BaseUri.GetLeftPart(UriPartial.Authority),
            SslCaCerts = authorities,
        });
        var (error, status) = await FailsAsync(() => anonymous.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, error.Response.StatusCode);
        Assert.Equal("Unauthorized", (string?)status["reason"]);
        Assert.Null(Server.Requests[^1].User);

        var path = Server.WriteKubeconfig(Folder.File("wrong-token"));
        File.WriteAllText(path, File.ReadAllText(path).Replace(Server.Token, "not-a-token", StringComparison.Ordinal));
        using var wrong = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(path));
        var (wrongError, _) = await FailsAsync(() => wrong.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, wrongError.Response.StatusCode);
    }

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_not_accepted()
    {
        await using var stranger = await FakeApiServer.StartAsync();
        var path = stranger.WriteKubeconfig(Folder.File("stranger"), auth: KubeconfigAuth.ClientCertificate);

        // The stranger's certificate, presented to this server.
        var text = File.ReadAllText(path).Replace(stranger.BaseUri.GetLeftPart(UriPartial.Authority), Server.BaseUri.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal);
        var ours = File.ReadAllText(Server.WriteKubeconfig(Folder.File("ours")));
        var ourCa = ours.Split('\n').Single(l => l.Contains("certificate-authority-data", StringComparison.Ordinal));
        var theirCa = text.Split('\n').Single(l => l.Contains("certificate-authority-data", StringComparison.Ordinal));
        File.WriteAllText(path, text.Replace(theirCa, ourCa, StringComparison.Ordinal));
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(path));
        var (error, _) = await FailsAsync(() => client.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, error.Response.StatusCode);
    }

    [Fact]
    public async Task An_UploadTokenRequest_is_answered_with_a_token_and_stored_nowhere()
    {
        var body = new JsonObject
        {
            ["apiVersion"] = "upload.cdi.kubevirt.io/v1beta1",
            ["kind"] = "UploadTokenRequest",
            ["metadata"] = new JsonObject { ["name"] = "upload-disk", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["pvcName"] = "disk" },
        };
        var answer = Node(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, "upload.cdi.kubevirt.io", V1Beta1, "default", "uploadtokenrequests"));
        var token = (string?)answer["status"]!["token"];
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Equal(3, token!.Split('.').Length);
        var issued = Assert.Single(Server.UploadTokens);
        Assert.Equal((token, "default", "disk"), (issued.Token, issued.Namespace, issued.PvcName));
        Assert.InRange(issued.Expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));

        var (error, _) = await FailsAsync(() => Client.CustomObjects.GetNamespacedCustomObjectAsync("upload.cdi.kubevirt.io", V1Beta1, "default", "uploadtokenrequests", "upload-disk"));
        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
    }

    [Fact]
    public async Task A_denied_UploadTokenRequest_gets_CDIs_bare_401()
    {
        Server.Deny("create", "uploadtokenrequests");
        var body = new JsonObject { ["apiVersion"] = "upload.cdi.kubevirt.io/v1beta1", ["kind"] = "UploadTokenRequest", ["spec"] = new JsonObject { ["pvcName"] = "disk" } };
        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, "upload.cdi.kubevirt.io", V1Beta1, "default", "uploadtokenrequests"));
        Assert.Equal(HttpStatusCode.Unauthorized, error.Response.StatusCode);
        Assert.Equal("", error.Response.Content);
        Assert.Empty(Server.UploadTokens);
    }
}
