using System.Text.Json;
using System.Text.Json.Nodes;
using CdiTools.Testing;
using CdiTools.Testing.FakeCluster;
using k8s;
using k8s.Autorest;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>
/// One fake API server per test, a kubeconfig for it and the real client built from that
/// kubeconfig the way CdiTools builds it.
/// </summary>
public abstract class FakeClusterHarness : IAsyncLifetime
{
    protected const string Cdi = "cdi.kubevirt.io";
    protected const string V1Beta1 = "v1beta1";

    private readonly List<IDisposable> clients = [];

    protected TemporaryDirectory Folder { get; } = new();

    protected FakeApiServer Server { get; private set; } = null!;

    protected Kubernetes Client { get; private set; } = null!;

    /// <summary>Options for the server; tests override to start it differently.</summary>
    protected virtual FakeClusterOptions Options => new();

    public async Task InitializeAsync()
    {
        Server = await FakeApiServer.StartAsync(Options);
        Client = ClientFor(KubeconfigAuth.Token);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await Server.DisposeAsync();
        Folder.Dispose();
    }

    protected Kubernetes ClientFor(KubeconfigAuth auth, string? defaultNamespace = null)
    {
        var path = Server.WriteKubeconfig(Folder.File($"kubeconfig-{auth}-{Guid.NewGuid():N}"), "fake", defaultNamespace, auth);
        var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(path));
        clients.Add(client);
        return client;
    }

    protected static JsonObject Node(object? result) => JsonSerializer.SerializeToNode(result)!.AsObject();

    protected static async Task<(HttpOperationException Error, JsonObject Status)> FailsAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(call);
        var status = JsonNode.Parse(error.Response.Content)!.AsObject();
        Assert.Equal("Status", (string?)status["kind"]);
        Assert.Equal("v1", (string?)status["apiVersion"]);
        Assert.Equal("Failure", (string?)status["status"]);
        Assert.Equal((int)error.Response.StatusCode, (int)status["code"]!);
        return (error, status);
    }

    protected async Task<JsonObject> GetCdiAsync() => Node(await Client.CustomObjects.GetClusterCustomObjectAsync(Cdi, V1Beta1, "cdis", "cdi"));

    protected async Task<JsonObject> GetCdiConfigAsync() => Node(await Client.CustomObjects.GetClusterCustomObjectAsync(Cdi, V1Beta1, "cdiconfigs", "config"));

    protected static JsonObject DataVolume(string name, string ns = "default") => new()
    {
        ["apiVersion"] = "cdi.kubevirt.io/v1beta1",
        ["kind"] = "DataVolume",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["source"] = new JsonObject { ["upload"] = new JsonObject() },
            ["storage"] = new JsonObject
            {
                ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = "1Gi" } },
            },
        },
    };

    /// <summary>Polls until <paramref name="condition"/> holds, for controllers that react after a delay.</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true in time.");
            await Task.Delay(25);
        }
    }
}
