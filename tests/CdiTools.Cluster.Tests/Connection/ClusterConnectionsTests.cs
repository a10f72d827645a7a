using CdiTools.Cluster.Connection;
using CdiTools.Testing;

namespace CdiTools.Cluster.Tests.Connection;

/// <summary>Kubeconfig resolution as kubectl does it; these need no server, as clients connect lazily.</summary>
[Collection(EnvironmentTestSet.Name)]
public sealed class ClusterConnectionsTests
{
    private static string Kubeconfig(string folder, string name, string context, string server, string? ns = null, string? caFile = null)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            current-context: {context}
            clusters:
            - name: {context}-cluster
              cluster:
                server: {server}
            {(caFile is null ? "    insecure-skip-tls-verify: true" : $"    certificate-authority: {caFile}")}
            users:
            - name: {context}-user
              user:
                token: secret-{context}
            contexts:
            - name: {context}
              context:
                cluster: {context}-cluster
                user: {context}-user
            {(ns is null ? string.Empty : $"    namespace: {ns}")}
            """);
        return path;
    }

    [Fact]
    public void An_explicit_kubeconfig_gives_its_server_and_the_context_namespace()
    {
        using var work = new TemporaryDirectory();
        var path = Kubeconfig(work.Path, "a.yaml", "alpha", "https://alpha.example:6443", "vms");

        var connection = ClusterConnections.Connect(new ClusterTarget(path));

        Assert.StartsWith("https://alpha.example:6443", connection.Server);
        Assert.Equal("vms", connection.Namespace);
        Assert.Equal("other", connection.NamespaceOr("other"));
        Assert.Contains(path, connection.Source);
    }

    [Fact]
    public void The_namespace_defaults_to_default()
    {
        using var work = new TemporaryDirectory();
        var path = Kubeconfig(work.Path, "a.yaml", "alpha", "https://alpha.example:6443");

        Assert.Equal("default", ClusterConnections.Connect(new ClusterTarget(path)).Namespace);
    }

    [Fact]
    public void Files_in_KUBECONFIG_are_merged_and_each_context_keeps_its_own_relative_paths()
    {
        using var work = new TemporaryDirectory();
        Directory.CreateDirectory(work.File("one"));
        Directory.CreateDirectory(work.File("two"));
        File.WriteAllText(work.File("two/ca.crt"), "not read until a request is made");
        var first = Kubeconfig(work.File("one"), "config", "alpha", "https://alpha.example:6443");
        var second = Kubeconfig(work.File("two"), "config", "beta", "https://beta.example:6443", caFile: "ca.crt");
        var saved = Environment.GetEnvironmentVariable("KUBECONFIG");
        try
        {
            Environment.SetEnvironmentVariable("KUBECONFIG", string.Join(Path.PathSeparator, first, work.File("missing"), second));

            var files = ClusterConnections.KubeconfigFiles(null);
            var alpha = ClusterConnections.Connect(new ClusterTarget());
            var beta = ClusterConnections.Connect(new ClusterTarget(Context: "beta"));

            Assert.Equal([first, second], files.Select(f => f.FullName));
            Assert.StartsWith("https://alpha.example", alpha.Server);
            Assert.StartsWith("https://beta.example", beta.Server);
            Assert.Equal("beta", beta.Context);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KUBECONFIG", saved);
        }
    }

    [Fact]
    public void The_same_file_and_context_give_the_same_client_until_the_file_changes()
    {
        using var work = new TemporaryDirectory();
        var path = Kubeconfig(work.Path, "a.yaml", "alpha", "https://alpha.example:6443");

        var first = ClusterConnections.Connect(new ClusterTarget(path));
        var again = ClusterConnections.Connect(new ClusterTarget(path));
        Kubeconfig(work.Path, "a.yaml", "alpha", "https://alpha-moved.example:6443");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        var changed = ClusterConnections.Connect(new ClusterTarget(path));

        Assert.Same(first, again);
        Assert.NotSame(first, changed);
        Assert.StartsWith("https://alpha-moved.example", changed.Server);
    }

    [Fact]
    public void A_missing_file_and_an_unknown_context_are_configuration_errors_that_say_so()
    {
        using var work = new TemporaryDirectory();
        var path = Kubeconfig(work.Path, "a.yaml", "alpha", "https://alpha.example:6443");

        var missing = Assert.Throws<ClusterException>(() => ClusterConnections.Connect(new ClusterTarget(work.File("nope"))));
        var context = Assert.Throws<ClusterException>(() => ClusterConnections.Connect(new ClusterTarget(path, "gamma")));

        Assert.Equal("KubeconfigNotFound", missing.ErrorId);
        Assert.Equal("ContextNotFound", context.ErrorId);
        Assert.Contains("alpha", context.Message);
        Assert.Equal(ClusterErrorKind.Configuration, context.Kind);
    }
}

/// <summary>Tests that change environment variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentTestSet
{
    public const string Name = "Environment";
}
