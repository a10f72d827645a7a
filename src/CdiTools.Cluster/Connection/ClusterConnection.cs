using k8s;

namespace CdiTools.Cluster.Connection;

/// <summary>A client for one cluster and context, with the namespace commands default to and where it came from.</summary>
public sealed class ClusterConnection
{
    internal ClusterConnection(IKubernetes client, string @namespace, string? context, string source, string server)
    {
        Client = client;
        Namespace = @namespace;
        Context = context;
        Source = source;
        Server = server;
    }

    public IKubernetes Client { get; }

    /// <summary>The namespace to use when a command names none: the context's, else "default".</summary>
    public string Namespace { get; }

    public string? Context { get; }

    /// <summary>Where the configuration came from, for Verbose: "kubeconfig /home/u/.kube/config, context prod".</summary>
    public string Source { get; }

    public string Server { get; }

    /// <summary>A namespace the user named, else <see cref="Namespace"/>.</summary>
    public string NamespaceOr(string? requested) => string.IsNullOrEmpty(requested) ? Namespace : requested;
}
