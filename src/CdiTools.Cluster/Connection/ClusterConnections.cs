using System.Collections.Concurrent;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace CdiTools.Cluster.Connection;

/// <summary>
/// Finds the cluster configuration as kubectl does and keeps one client per kubeconfig and context
/// for the session. The kubeconfig is the one named, else the files in KUBECONFIG (merged, the
/// first file to define a name wins), else ~/.kube/config, else the in-cluster service account.
/// A kubeconfig file that changed since is loaded again.
/// </summary>
public static class ClusterConnections
{
    private static readonly ConcurrentDictionary<string, ClusterConnection> Cache = new();

    /// <summary>The connection for <paramref name="target"/>, from the session's cache when the files have not changed.</summary>
    public static ClusterConnection Connect(ClusterTarget target)
    {
        var files = KubeconfigFiles(target.KubeConfig);
        if (files.Count == 0)
        {
            if (KubernetesClientConfiguration.IsInCluster())
            {
                return Cache.GetOrAdd($"in-cluster|{target.Context}", _ => Create(KubernetesClientConfiguration.InClusterConfig(), "the in-cluster service account"));
            }

            throw new ClusterException(
                "KubeconfigNotFound",
                ClusterErrorKind.Configuration,
                "No kubeconfig was found: pass -KubeConfig, set KUBECONFIG, or create ~/.kube/config (and this is not a pod with a service account).");
        }

        var key = string.Join("|", files.Select(f => $"{f.FullName}@{f.LastWriteTimeUtc.Ticks}:{f.Length}")) + $"|{target.Context}";
        return Cache.GetOrAdd(key, _ => Create(Load(files, target.Context), Describe(files, target.Context)));
    }

    /// <summary>The kubeconfig files that apply, in kubectl's order; empty when none exists.</summary>
    internal static IReadOnlyList<FileInfo> KubeconfigFiles(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            var file = new FileInfo(explicitPath);
            return file.Exists
                ? [file]
                : throw new ClusterException("KubeconfigNotFound", ClusterErrorKind.Configuration, $"The kubeconfig '{file.FullName}' does not exist.");
        }

        // kubectl skips KUBECONFIG entries that do not exist.
        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(path => new FileInfo(path))
                .Where(file => file.Exists)
                .DistinctBy(file => file.FullName)
                .ToList();
        }

        var home = new FileInfo(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config"));
        return home.Exists ? [home] : [];
    }

    private static KubernetesClientConfiguration Load(IReadOnlyList<FileInfo> files, string? context)
    {
        try
        {
            var merged = files.Select(Read).Aggregate(Merge);
            if (context is not null && merged.Contexts?.Any(c => c.Name == context) != true)
            {
                var known = string.Join(", ", merged.Contexts?.Select(c => c.Name) ?? []);
                throw new ClusterException("ContextNotFound", ClusterErrorKind.Configuration, $"The kubeconfig has no context '{context}'; it has: {known}.");
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, context);
        }
        catch (KubeConfigException e)
        {
            throw new ClusterException("KubeconfigInvalid", ClusterErrorKind.Configuration, $"The kubeconfig cannot be used: {e.Message}", e);
        }
    }

    // Each file's relative paths are its own: make them absolute before merging.
    private static K8SConfiguration Read(FileInfo file)
    {
        var config = KubernetesClientConfiguration.LoadKubeConfig(file, useRelativePaths: false);
        var folder = file.DirectoryName!;
        foreach (var cluster in config.Clusters ?? [])
        {
            if (cluster.ClusterEndpoint is { } endpoint)
            {
                endpoint.CertificateAuthority = Absolute(endpoint.CertificateAuthority, folder);
            }
        }

        foreach (var user in config.Users ?? [])
        {
            if (user.UserCredentials is { } credentials)
            {
                credentials.ClientCertificate = Absolute(credentials.ClientCertificate, folder);
                credentials.ClientKey = Absolute(credentials.ClientKey, folder);
                if (credentials.ExternalExecution?.Command is { } command && command.Contains('/') && !Path.IsPathRooted(command))
                {
                    credentials.ExternalExecution.Command = Path.GetFullPath(Path.Combine(folder, command));
                }
            }
        }

        return config;
    }

    private static string? Absolute(string? path, string folder) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(folder, path));

    // kubectl's merge: the first file to define a cluster, user or context by a name wins, and so
    // does the first current-context set.
    private static K8SConfiguration Merge(K8SConfiguration first, K8SConfiguration next)
    {
        first.CurrentContext ??= next.CurrentContext;
        first.Clusters = [.. first.Clusters ?? [], .. (next.Clusters ?? []).Where(c => first.Clusters?.Any(f => f.Name == c.Name) != true)];
        first.Users = [.. first.Users ?? [], .. (next.Users ?? []).Where(u => first.Users?.Any(f => f.Name == u.Name) != true)];
        first.Contexts = [.. first.Contexts ?? [], .. (next.Contexts ?? []).Where(c => first.Contexts?.Any(f => f.Name == c.Name) != true)];
        return first;
    }

    private static string Describe(IReadOnlyList<FileInfo> files, string? context) =>
        $"kubeconfig {string.Join(Path.PathSeparator, files.Select(f => f.FullName))}{(context is null ? string.Empty : $", context {context}")}";

    private static ClusterConnection Create(KubernetesClientConfiguration configuration, string source) =>
        new(
            new Kubernetes(configuration, new ApiServerFailureHandler(configuration.Host, source)),
            string.IsNullOrEmpty(configuration.Namespace) ? "default" : configuration.Namespace,
            configuration.CurrentContext,
            source,
            configuration.Host,
            configuration.SslCaCerts,
            configuration.SkipTlsVerify);
}
