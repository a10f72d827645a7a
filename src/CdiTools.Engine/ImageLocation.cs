using CdiTools.Engine.Sources.Http;


namespace CdiTools.Engine;

/// <summary>Where an image is: a local file or an HTTP(S) URL with how to reach it.</summary>
public sealed record ImageLocation
{
    private ImageLocation(string? path, Uri? uri, HttpSourceOptions? http)
    {
        Path = path;
        Uri = uri;
        Http = http;
    }

    public string? Path { get; }

    public Uri? Uri { get; }

    public HttpSourceOptions? Http { get; }

    public static ImageLocation File(string path) => new(System.IO.Path.GetFullPath(path), null, null);

    public static ImageLocation Url(Uri uri, HttpSourceOptions? options = null) => new(null, uri, options ?? new HttpSourceOptions());

    /// <summary>The image's file name, for naming its output.</summary>
    public string Name => Path is not null
        ? System.IO.Path.GetFileName(Path)
        : System.IO.Path.GetFileName(Uri!.AbsolutePath.TrimEnd('/')) is { Length: > 0 } name ? Uri.UnescapeDataString(name) : "image";

    /// <summary>The path, or the URL without credentials and query (presigned URLs carry secrets there).</summary>
    public override string ToString() => Path ?? HttpTransport.Display(Uri!);

    /// <summary>Opens the image: peels its layers and readies its format driver.</summary>
    public async Task<OpenedImage> OpenAsync(ImageOpenOptions options, CancellationToken cancellationToken)
    {
        if (Path is not null)
        {
            return ImageOpener.Open(Sources.LayerInput.FromRandom(new Sources.FileSource(Path)), options);
        }

        var resource = await HttpResource.OpenAsync(Uri!, Http!, cancellationToken).ConfigureAwait(false);
        try
        {
            return ImageOpener.Open(resource.Input, options).WithAbort(resource.Dispose);
        }
        catch
        {
            resource.Dispose();
            throw;
        }
    }
}
