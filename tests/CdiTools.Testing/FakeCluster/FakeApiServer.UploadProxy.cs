namespace CdiTools.Testing.FakeCluster;

/// <summary>The upload side: CDI's upload proxy, started on demand and announced through CDIConfig.</summary>
public sealed partial class FakeApiServer
{
    private FakeUploadProxy? uploadProxy;

    /// <summary>The running upload proxy, or null until <see cref="StartUploadProxyAsync"/>.</summary>
    public FakeUploadProxy? UploadProxy => Volatile.Read(ref uploadProxy);

    /// <summary>
    /// Starts CDI's upload proxy on 127.0.0.1 with a certificate from this server's CA, so a
    /// client that trusts the kubeconfig's CA trusts it too, and writes its address (host:port,
    /// as CDI reports it) to <c>cdiconfig/config .status.uploadProxyURL</c>, now or when CDI is
    /// installed later. One proxy per server; it stops with the server.
    /// </summary>
    public async Task<FakeUploadProxy> StartUploadProxyAsync(FakeUploadProxyOptions? options = null)
    {
        if (UploadProxy is not null)
        {
            throw new InvalidOperationException("The fake cluster's upload proxy is already running.");
        }

        var proxy = await FakeUploadProxy.StartAsync(this, authority.IssueServerCertificate(), options ?? new FakeUploadProxyOptions()).ConfigureAwait(false);
        if (Interlocked.CompareExchange(ref uploadProxy, proxy, null) is not null)
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException("The fake cluster's upload proxy is already running.");
        }

        if (GetObject("cdi.kubevirt.io/v1beta1", "CDIConfig", "config") is { } config)
        {
            var status = config["status"] as System.Text.Json.Nodes.JsonObject ?? [];
            config["status"] = status;
            status["uploadProxyURL"] = proxy.Address;
            PutObject(config);
        }

        return proxy;
    }

    /// <summary>The record of an upload token this server issued, or null.</summary>
    internal FakeUploadToken? FindUploadToken(string token) => uploadTokens.FirstOrDefault(t => t.Token == token);
}
