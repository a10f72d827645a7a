using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;

namespace CdiTools.Engine;

/// <summary>Where an image is: a local file, an HTTP(S) URL, or a container-disk image (docker://, oci-archive:), with how to reach it.</summary>
public sealed record ImageLocation
{
    private ImageLocation(string? path, Uri? uri, HttpSourceOptions? http, ContainerImageReference? containerImage = null, RegistryOptions? registry = null)
    {
        Path = path;
        Uri = uri;
        Http = http;
        ContainerImage = containerImage;
        Registry = registry;
    }

    public string? Path { get; }

    public Uri? Uri { get; }

    public HttpSourceOptions? Http { get; }

    /// <summary>The container image whose disk/ file is the image; null for files and URLs.</summary>
    public ContainerImageReference? ContainerImage { get; }

    public RegistryOptions? Registry { get; }

    public static ImageLocation File(string path) => new(System.IO.Path.GetFullPath(path), null, null);

    public static ImageLocation Url(Uri uri, HttpSourceOptions? options = null) => new(null, uri, options ?? new HttpSourceOptions());

    /// <summary>A container-disk image in a registry or an OCI archive.</summary>
    public static ImageLocation Container(ContainerImageReference reference, RegistryOptions? options = null) =>
        new(null, null, null, reference, options ?? new RegistryOptions());

    /// <summary>The image's file name, for naming its output (a container image's, see <see cref="ContainerImageReference.Name"/>).</summary>
    public string Name => ContainerImage is not null
        ? ContainerImage.Name
        : Path is not null
        ? System.IO.Path.GetFileName(Path)
        : System.IO.Path.GetFileName(Uri!.AbsolutePath.TrimEnd('/')) is { Length: > 0 } name ? Uri.UnescapeDataString(name) : "image";

    /// <summary>The path, the reference, or the URL without credentials and query (presigned URLs carry secrets there).</summary>
    public override string ToString() => ContainerImage?.ToString() ?? Path ?? HttpTransport.Display(Uri!);

    /// <summary>Opens the image: peels its layers and readies its format driver.</summary>
    public async Task<OpenedImage> OpenAsync(ImageOpenOptions options, CancellationToken cancellationToken)
    {
        if (ContainerImage is not null)
        {
            return await ContainerImageOpener.OpenAsync(ContainerImage, Registry!, options, cancellationToken).ConfigureAwait(false);
        }

        if (Path is not null)
        {
            return ImageOpener.Open(Sources.LayerInput.FromRandom(new Sources.FileSource(Path)), options).WithNameChecked(Name);
        }

        var resource = await HttpResource.OpenAsync(Uri!, Http!, cancellationToken).ConfigureAwait(false);
        try
        {
            return ImageOpener.Open(resource.Input, options).WithAbort(resource.Dispose).WithNameChecked(Name);
        }
        catch
        {
            resource.Dispose();
            throw;
        }
    }
}
