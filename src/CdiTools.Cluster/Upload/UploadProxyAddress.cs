using CdiTools.Cluster.Models;

namespace CdiTools.Cluster.Upload;

/// <summary>Where CDI's upload proxy is: the address given, else CDIConfig's spec.uploadProxyURLOverride, else status.uploadProxyURL; https:// when no scheme is given.</summary>
public static class UploadProxyAddress
{
    public static Uri Resolve(string? explicitUrl, CdiConfig config)
    {
        var text = new[] { explicitUrl, config.Spec?.UploadProxyUrlOverride, config.Status?.UploadProxyUrl }.FirstOrDefault(t => !string.IsNullOrWhiteSpace(t))
            ?? throw new ClusterException(
                "UploadProxyUnknown",
                ClusterErrorKind.Configuration,
                "CDI reports no upload proxy address (CDIConfig status.uploadProxyURL is empty: no route or ingress for cdi-uploadproxy). Give one with -UploadProxyUrl, for example after kubectl port-forward -n cdi service/cdi-uploadproxy 8443:443.");
        text = text.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
            ? uri
            : throw new ClusterException("UploadProxyInvalid", ClusterErrorKind.Configuration, $"'{text}' is not an upload proxy address (https://host[:port]).");
    }
}
