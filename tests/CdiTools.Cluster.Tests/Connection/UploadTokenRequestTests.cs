using System.Text.Json.Nodes;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Tests.FakeCluster;

namespace CdiTools.Cluster.Tests.Connection;

/// <summary>Upload tokens through CDI's aggregated upload API, as the fake plays it.</summary>
public sealed class UploadTokenRequestTests : FakeClusterHarness
{
    private CdiApi Api() => new(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File($"kc-{Guid.NewGuid():N}")))));

    [Fact]
    public async Task A_token_is_issued_for_the_named_PVC_in_its_namespace()
    {
        Server.AddNamespace("vms");

        var token = await Api().RequestUploadTokenAsync("disk", "vms", default);

        var issued = Assert.Single(Server.UploadTokens);
        Assert.Equal(issued.Token, token);
        Assert.Equal(("vms", "disk"), (issued.Namespace, issued.PvcName));
        var request = Server.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/vms/uploadtokenrequests", request.Path);
        var body = JsonNode.Parse(request.Body)!;
        Assert.Equal("UploadTokenRequest", (string?)body["kind"]);
        Assert.Equal("disk", (string?)body["spec"]!["pvcName"]);
        // A JWT: three base64url segments.
        Assert.Equal(3, token.Split('.').Length);
    }

    [Fact]
    public async Task A_denied_request_says_which_permission_is_missing()
    {
        Server.AddNamespace("vms");
        Server.Deny("create", "uploadtokenrequests");

        var error = await Assert.ThrowsAsync<ClusterException>(() => Api().RequestUploadTokenAsync("disk", "vms", default));

        Assert.Equal("UploadTokenDenied", error.ErrorId);
        Assert.Equal(ClusterErrorKind.Forbidden, error.Kind);
        Assert.Contains("may not create uploadtokenrequests.upload.cdi.kubevirt.io in namespace vms", error.Message);
        Assert.Empty(Server.UploadTokens);
    }
}
