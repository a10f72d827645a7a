using System.Net.Sockets;
using System.Security.Authentication;

namespace CdiTools.Cluster.Connection;

/// <summary>
/// Sits under every request to the API server and turns a failure to reach it (nothing listening,
/// a host name that does not resolve, a certificate the kubeconfig does not trust) into a
/// <see cref="ClusterException"/> with a stable id that names the server and the kubeconfig,
/// instead of an HttpRequestException that says "see the inner exception".
/// </summary>
internal sealed class ApiServerFailureHandler(string server, string source) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Describe(e, server, source);
        }
    }

    /// <summary>The failure to reach <paramref name="server"/> as a ClusterException; <paramref name="source"/> names the kubeconfig and context.</summary>
    internal static ClusterException Describe(HttpRequestException e, string server, string source)
    {
        var reason = e.GetBaseException().Message;
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => new(
                "ClusterUnreachable",
                ClusterErrorKind.Unavailable,
                $"The API server {server} cannot be reached: its host name does not resolve ({reason}). Check the server address in {source}, or the DNS or VPN this machine uses.",
                e),
            HttpRequestError.SecureConnectionError when e.GetBaseException() is AuthenticationException || e.InnerException is AuthenticationException => new(
                "ClusterTlsUntrusted",
                ClusterErrorKind.Untrusted,
                $"The API server {server} presented a certificate that {source} does not trust ({reason}). Check the cluster's certificate-authority or certificate-authority-data there; kubectl reads the same entry.",
                e),
            HttpRequestError.ConnectionError when e.GetBaseException() is SocketException socket => new(
                "ClusterUnreachable",
                ClusterErrorKind.Unavailable,
                $"The API server {server} cannot be reached: {Connection(socket.SocketErrorCode)} ({reason}). Check that the cluster is up and that {source} names the right server.",
                e),
            _ => new(
                "ClusterUnreachable",
                ClusterErrorKind.Unavailable,
                $"The API server {server} cannot be reached: {reason}. Check that the cluster is up and that {source} names the right server.",
                e),
        };
    }

    private static string Connection(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "nothing accepts connections at that address",
        SocketError.TimedOut => "the connection timed out",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route leads to it",
        _ => "the connection failed",
    };
}
