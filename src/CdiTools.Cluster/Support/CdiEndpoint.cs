namespace CdiTools.Cluster.Support;

/// <summary>Where CDI takes an image from, as the columns of its support matrix.</summary>
public enum CdiEndpoint
{
    Http,
    Https,
    HttpBasicAuth,
    Registry,
    Upload,
}
