using System.Diagnostics;
using CdiTools.Testing;
using k8s;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>The fake cluster as the separate process Pester starts.</summary>
public sealed class FakeClusterExecutableTests : IDisposable
{
    private readonly TemporaryDirectory folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>The built console app beside this test assembly's configuration (bin/&lt;Configuration&gt;/net10.0).</summary>
    private static string ExecutablePath()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var path = Path.Combine(RepositoryPaths.Root, "tests", "CdiTools.FakeCluster", "bin", configuration, framework.Name, "CdiTools.FakeCluster.dll");
        Assert.True(File.Exists(path), $"{path} is not built.");
        return path;
    }

    [Fact]
    public async Task The_executable_seeds_the_scenario_writes_the_kubeconfig_says_READY_and_stops_when_stdin_closes()
    {
        var scenario = folder.File("scenario.json");
        File.WriteAllText(scenario, """
            {
              "storageClasses": [{ "name": "standard", "default": true }, { "name": "fast", "provisioner": "fast.example.com" }],
              "storageProfiles": [{ "storageClass": "fast", "claimPropertySets": [{ "accessMode": "ReadWriteMany", "volumeMode": "Block" }] }],
              "cdi": { "version": "v1.64.0" },
              "objects": [{ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "seeded", "namespace": "images" }, "data": { "a": "b" } }],
              "namespaces": ["images"]
            }
            """);
        var kubeconfig = folder.File("kubeconfig");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { ExecutablePath(), "--kubeconfig", kubeconfig, "--namespace", "images", "--scenario", scenario })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var ready = await process.StandardOutput.ReadLineAsync(patience.Token);
            Assert.NotNull(ready);
            Assert.StartsWith("READY https://127.0.0.1:", ready);
            var baseUri = new Uri(ready!["READY ".Length..]);

            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            Assert.Equal("images", config.Namespace);
            using var client = new Kubernetes(config);
            var classes = await client.StorageV1.ListStorageClassAsync();
            Assert.Equal(["fast", "standard"], classes.Items.Select(c => c.Metadata.Name));
            Assert.Equal("fast.example.com", classes.Items[0].Provisioner);
            var seeded = await client.CoreV1.ReadNamespacedConfigMapAsync("seeded", "images");
            Assert.Equal("b", seeded.Data["a"]);
            var cdiConfig = System.Text.Json.JsonSerializer.SerializeToNode(
                await client.CustomObjects.GetClusterCustomObjectAsync("cdi.kubevirt.io", "v1beta1", "cdiconfigs", "config"))!;
            Assert.Equal("standard", (string?)cdiConfig["status"]!["scratchSpaceStorageClass"]);
            Assert.Equal(baseUri.Port, new Uri(config.Host).Port);

            process.StandardInput.Close();
            await process.WaitForExitAsync(patience.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task The_executable_starts_the_upload_proxy_a_scenario_asks_for_and_prints_only_READY()
    {
        var scenario = folder.File("scenario.json");
        File.WriteAllText(scenario, """
            { "storageClasses": [{ "name": "standard", "default": true }], "cdi": {}, "uploadProxy": { "async": false } }
            """);
        var kubeconfig = folder.File("kubeconfig");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { ExecutablePath(), "--kubeconfig", kubeconfig, "--scenario", scenario })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.StartsWith("READY https://127.0.0.1:", await process.StandardOutput.ReadLineAsync(patience.Token));

            // Clients find the proxy through CDIConfig and trust it through the kubeconfig's CA.
            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            using var client = new Kubernetes(config);
            var cdiConfig = System.Text.Json.JsonSerializer.SerializeToNode(
                await client.CustomObjects.GetClusterCustomObjectAsync("cdi.kubevirt.io", "v1beta1", "cdiconfigs", "config"))!;
            var proxy = (string?)cdiConfig["status"]!["uploadProxyURL"];
            Assert.Matches("^127\\.0\\.0\\.1:[0-9]+$", proxy);
            using var handler = new HttpClientHandler();
            var ca = config.SslCaCerts[0];
            handler.ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            };
            using var http = new HttpClient(handler);
            Assert.Equal("OK", await http.GetStringAsync(new Uri($"https://{proxy}/healthz"), patience.Token));
            using var head = new HttpRequestMessage(HttpMethod.Head, new Uri($"https://{proxy}/v1beta1/upload-async"));
            using var answer = await http.SendAsync(head, patience.Token);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, answer.StatusCode);

            process.StandardInput.Close();
            Assert.Equal("", await process.StandardOutput.ReadToEndAsync(patience.Token));
            await process.WaitForExitAsync(patience.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task The_executable_stops_on_SIGTERM()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { ExecutablePath(), "--kubeconfig", folder.File("kubeconfig"), "--auth", "client-certificate" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.StartsWith("READY ", await process.StandardOutput.ReadLineAsync(patience.Token));
            using (var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(folder.File("kubeconfig"))))
            {
                Assert.NotEmpty((await client.CoreV1.ListNamespaceAsync()).Items);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(patience.Token);
            }

            await process.WaitForExitAsync(patience.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
