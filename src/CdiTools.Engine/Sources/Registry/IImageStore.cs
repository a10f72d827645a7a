namespace CdiTools.Engine.Sources.Registry;

/// <summary>Where an image's manifests and blobs are read from: a registry, or an OCI archive.</summary>
internal interface IImageStore : IDisposable
{
    /// <summary>"registry" or "oci-archive", for the format chain.</summary>
    string Kind { get; }

    /// <summary>The manifest or index the reference names, its digest checked where the reference or the server gave one.</summary>
    ValueTask<ImageManifest> GetRootAsync(CancellationToken cancellationToken);

    /// <summary>The manifest or index a descriptor points to, its digest checked.</summary>
    ValueTask<ImageManifest> GetManifestAsync(Descriptor descriptor, CancellationToken cancellationToken);

    /// <summary>A small blob (a config) read whole, its digest checked, refused beyond <paramref name="limit"/> bytes.</summary>
    ValueTask<byte[]> GetSmallBlobAsync(Descriptor descriptor, int limit, CancellationToken cancellationToken);

    /// <summary>A blob's bytes as they come, not yet checked; the caller wraps them in a <see cref="VerifiedBlobStream"/>.</summary>
    ValueTask<Stream> OpenBlobAsync(Descriptor descriptor, bool sync, CancellationToken cancellationToken);
}
