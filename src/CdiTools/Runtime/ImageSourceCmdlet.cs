using System.Collections;
using System.Management.Automation;
using System.Net;
using CdiTools.Engine;
using CdiTools.Engine.Sources.Http;
using CdiTools.Engine.Sources.Registry;

namespace CdiTools.Runtime;

/// <summary>
/// What every cmdlet that reads images takes: -Path (wildcards), -LiteralPath (bound from
/// Get-ChildItem by PSPath or FullName) or -Uri (http, https, or a container disk: docker://,
/// oci-archive:), and how to reach the image.
/// </summary>
public abstract class ImageSourceCmdlet : WorkerCmdlet
{
    protected const string PathSet = "Path";
    protected const string LiteralPathSet = "LiteralPath";
    protected const string UriSet = "Uri";

    /// <summary>Image files; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Image files, taken as written.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>An http:// or https:// URL of the image, or a container disk: docker://registry/repo:tag (or @sha256:...), oci-archive:file.tar.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = UriSet)]
    [Alias("Url")]
    [ValidateNotNull]
    [ImageUriTransformation]
    public Uri? Uri { get; set; }

    /// <summary>The platform to take from a multi-arch container image (linux/arm64, linux/arm/v7); this machine's when omitted.</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string? Platform { get; set; }

    /// <summary>Lets a docker:// registry be reached over plain HTTP when HTTPS fails to connect (a registry on this machine may without it).</summary>
    [Parameter(ParameterSetName = UriSet)]
    public SwitchParameter AllowInsecureRegistry { get; set; }

    /// <summary>Credentials for -Uri: HTTP basic auth, or a registry's (basic auth, or for its token service).</summary>
    [Parameter(ParameterSetName = UriSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>A PEM file of CA certificates to trust for -Uri instead of the system's (like CDI's certConfigMap).</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string? CertificateFile { get; set; }

    /// <summary>Accept any server certificate (with a warning): -Uri's, and the upload proxy's when uploading.</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>Extra HTTP request headers for -Uri.</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNull]
    public IDictionary? Header { get; set; }

    /// <summary>The locations this record names; a path that matches nothing is written as an error and skipped.</summary>
    protected IEnumerable<ImageLocation> ResolveLocations()
    {
        if (ParameterSetName == UriSet)
        {
            if (ContainerImageReference.IsContainerImage(Uri!.OriginalString))
            {
                if (ContainerLocation(Uri.OriginalString) is { } container)
                {
                    yield return container;
                }

                yield break;
            }

            if (Uri.Scheme is not ("http" or "https"))
            {
                WriteError(new ErrorRecord(new ArgumentException($"'{Uri}' is not an http://, https://, docker:// or oci-archive: URL."), "UnsupportedUriScheme", ErrorCategory.InvalidArgument, Uri));
                yield break;
            }

            if (Platform is not null || AllowInsecureRegistry)
            {
                WriteWarning("-Platform and -AllowInsecureRegistry apply to docker:// and oci-archive: images only; ignored for this URL.");
            }

            if (SkipCertificateCheck)
            {
                WriteWarning($"The certificate of {Uri.Host} is not verified (-SkipCertificateCheck): anyone on the way can read or change the image.");
            }

            yield return ImageLocation.Url(Uri, HttpOptions());
            yield break;
        }

        var literal = ParameterSetName == LiteralPathSet;
        foreach (var path in (literal ? LiteralPath : Path) ?? [])
        {
            var files = new List<string>();
            try
            {
                if (literal)
                {
                    files.Add(GetUnresolvedProviderPathFromPSPath(path));
                }
                else
                {
                    files.AddRange(GetResolvedProviderPathFromPSPath(path, out var provider));
                    if (provider.Name != "FileSystem")
                    {
                        throw new ArgumentException($"'{path}' is not a file system path.");
                    }

                    // A wildcard that matches nothing resolves to nothing; say so, as Get-Content does.
                    if (files.Count == 0)
                    {
                        throw new ItemNotFoundException($"No file matches '{path}'.");
                    }
                }
            }
            catch (Exception e) when (e is ItemNotFoundException or ArgumentException or System.Management.Automation.DriveNotFoundException)
            {
                WriteError(new ErrorRecord(e, "PathNotFound", ErrorCategory.ObjectNotFound, path));
                continue;
            }

            foreach (var file in files)
            {
                if (!File.Exists(file))
                {
                    WriteError(new ErrorRecord(new FileNotFoundException($"No image file '{file}'.", file), Directory.Exists(file) ? "PathIsDirectory" : "PathNotFound", ErrorCategory.ObjectNotFound, file));
                    continue;
                }

                yield return ImageLocation.File(file);
            }
        }
    }

    private ImageLocation? ContainerLocation(string text)
    {
        ContainerImageReference reference;
        try
        {
            reference = ContainerImageReference.Parse(text);
            if (Platform is not null)
            {
                ImagePlatform.Parse(Platform);
            }
        }
        catch (ImageException e)
        {
            WriteError(new ErrorRecord(new ArgumentException(e.Message, e), e.ErrorId, ErrorCategory.InvalidArgument, text));
            return null;
        }

        if (reference.Transport == ContainerImageTransport.OciArchive)
        {
            reference = reference.WithArchivePath(GetUnresolvedProviderPathFromPSPath(reference.ArchivePath!));
        }
        else if (SkipCertificateCheck)
        {
            WriteWarning($"The certificate of {reference.Registry} is not verified (-SkipCertificateCheck): anyone on the way can read or change the image, unless it is pinned by digest (@sha256:...).");
        }

        return ImageLocation.Container(reference, new RegistryOptions { Http = HttpOptions(), Platform = Platform, AllowInsecureRegistry = AllowInsecureRegistry });
    }

    private HttpSourceOptions HttpOptions()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (Header is not null)
        {
            foreach (DictionaryEntry entry in Header)
            {
                headers[entry.Key.ToString()!] = entry.Value?.ToString() ?? string.Empty;
            }
        }

        return new HttpSourceOptions
        {
            Credential = Credential is null ? null : new NetworkCredential(Credential.UserName, Credential.Password),
            CertificateAuthorityFile = CertificateFile is null ? null : GetUnresolvedProviderPathFromPSPath(CertificateFile),
            SkipCertificateCheck = SkipCertificateCheck,
            Headers = headers,
        };
    }
}
