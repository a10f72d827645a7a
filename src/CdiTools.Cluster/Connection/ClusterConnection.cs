using System.Security.Cryptography.X509Certificates;
using k8s;

namespace CdiTools.Cluster.Connection;

/// <summary>A client for one cluster and context, with the namespace commands default to and where it came from.</summary>
public sealed class ClusterConnection
{
    internal ClusterConnection(IKubernetes client, string @namespace, string? context, string source, string server, X509Certificate2Collection? certificateAuthorities = null, bool skipTlsVerify = false)
    {
        CertificateAuthorities = certificateAuthorities;
        SkipTlsVerify = skipTlsVerify;
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

    /// <summary>The CAs the kubeconfig trusts for the API server; CDI's upload proxy is usually signed by the same one. Null for the system's roots.</summary>
    public X509Certificate2Collection? CertificateAuthorities { get; }

    /// <summary>The kubeconfig says insecure-skip-tls-verify.</summary>
    public bool SkipTlsVerify { get; }

    /// <summary>A namespace the user named, else <see cref="Namespace"/>.</summary>
    public string NamespaceOr(string? requested) => string.IsNullOrEmpty(requested) ? Namespace : requested;
}
