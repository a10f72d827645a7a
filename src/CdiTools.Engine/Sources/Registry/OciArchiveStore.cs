using CdiTools.Engine.Layers.Tar;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// An OCI image layout (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/...</c>) packed in a
/// tar file, as <c>skopeo copy ... oci-archive:x.tar</c> writes it: the archive's headers are
/// listed once, then each blob is read in place, without unpacking anything.
/// </summary>
internal sealed class OciArchiveStore : IImageStore
{
    private readonly FileSource file;
    private readonly string path;
    private readonly Dictionary<string, TarMember> members;

    private OciArchiveStore(FileSource file, string path, Dictionary<string, TarMember> members)
    {
        this.file = file;
        this.path = path;
        this.members = members;
    }

    public string Kind => "oci-archive";

    public static OciArchiveStore Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No OCI archive '{path}'.", path);
        }

        var file = new FileSource(path);
        try
        {
            var members = new Dictionary<string, TarMember>(StringComparer.Ordinal);
            foreach (var member in TarLayer.List(file))
            {
                if (member.IsRegular)
                {
                    members[member.Name] = member;
                }
            }

            if (!members.ContainsKey("oci-layout") || !members.ContainsKey("index.json"))
            {
                throw new ImageException(ImageErrors.RegistryInvalidArchive, $"'{path}' is a tar archive but not an OCI image layout: it has no {(members.ContainsKey("oci-layout") ? "index.json" : "oci-layout file")}.");
            }

            return new OciArchiveStore(file, path, members);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ValueTask<ImageManifest> GetRootAsync(CancellationToken cancellationToken)
    {
        var index = members["index.json"];
        if (index.StoredSize > ImageManifest.MaxBytes || index.IsSparse)
        {
            throw new ImageException(ImageErrors.RegistryManifestTooLarge, $"The index.json of '{path}' is {index.StoredSize:N0} bytes; it is read only up to {ImageManifest.MaxBytes:N0}.");
        }

        var body = Read(index);
        var digest = VerifiedBlobStream.Check(body, null, "index.json");
        return ValueTask.FromResult(ImageManifest.Parse(body, MediaTypes.OciIndex, digest, $"index.json of '{path}'"));
    }

    public async ValueTask<ImageManifest> GetManifestAsync(Descriptor descriptor, CancellationToken cancellationToken)
    {
        var what = $"manifest {descriptor.Digest} of '{path}'";
        var body = await GetSmallBlobAsync(descriptor, ImageManifest.MaxBytes, cancellationToken).ConfigureAwait(false);
        return ImageManifest.Parse(body, descriptor.MediaType, descriptor.Digest, what);
    }

    public ValueTask<byte[]> GetSmallBlobAsync(Descriptor descriptor, int limit, CancellationToken cancellationToken)
    {
        if (descriptor.Size > limit)
        {
            throw new ImageException(ImageErrors.RegistryManifestTooLarge, $"The blob {descriptor.Digest} of '{path}' is {descriptor.Size:N0} bytes; manifests and configs are read only up to {limit:N0}.");
        }

        var member = Blob(descriptor);
        if (member.StoredSize != descriptor.Size)
        {
            throw new ImageException(ImageErrors.RegistryDigestMismatch, $"The blob {descriptor.Digest} of '{path}' is {member.StoredSize:N0} bytes, not the {descriptor.Size:N0} its descriptor says.");
        }

        var body = Read(member);
        VerifiedBlobStream.Check(body, descriptor.Digest, $"blob {descriptor.Digest} of '{path}'");
        return ValueTask.FromResult(body);
    }

    public ValueTask<Stream> OpenBlobAsync(Descriptor descriptor, bool sync, CancellationToken cancellationToken)
    {
        var member = Blob(descriptor);
        return ValueTask.FromResult<Stream>(new RandomAccessStream(new WindowSource(file, member.DataOffset, member.StoredSize)));
    }

    public void Dispose() => file.Dispose();

    private TarMember Blob(Descriptor descriptor)
    {
        var name = "blobs/sha256/" + descriptor.Digest["sha256:".Length..];
        if (!members.TryGetValue(name, out var member))
        {
            throw new ImageException(ImageErrors.RegistryNotFound, $"The OCI archive '{path}' has no blob {descriptor.Digest} ({name}).");
        }

        if (member.IsSparse)
        {
            throw new ImageException(ImageErrors.RegistryInvalidArchive, $"The OCI archive '{path}' stores the blob {descriptor.Digest} sparse, which an image layout never needs.");
        }

        return member;
    }

    private byte[] Read(TarMember member)
    {
        var body = new byte[member.StoredSize];
        var read = file.ReadAt(member.DataOffset, body);
        if (read < body.Length)
        {
            throw new ImageException(ImageErrors.TarTruncated, $"The OCI archive '{path}' ends inside '{member.Name}'.", member.DataOffset + read);
        }

        return body;
    }
}
