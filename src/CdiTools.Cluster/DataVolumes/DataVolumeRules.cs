using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>One thing wrong with a <see cref="DataVolumeRequest"/>: a stable id, the parameter it concerns, and why.</summary>
public sealed record DataVolumeProblem(string Id, string Parameter, string Message);

/// <summary>
/// The checks CDI's DataVolume admission webhook and controller make, run before anything is sent,
/// so a bad request fails at once with CDI's reason instead of as a rejected or stuck DataVolume;
/// plus the checks CDI leaves to the importer pod (certificates, header lines, credentials).
/// </summary>
public static partial class DataVolumeRules
{
    /// <summary>Kubernetes (and so CDI) does not allow volumes below 1 MiB as disks.</summary>
    public const long MinimumSize = 1024 * 1024;

    /// <summary>The suffixes of the Secret and ConfigMap New-CdiDataVolume creates beside a DataVolume.</summary>
    public const string SecretSuffix = "-source-credentials";
    public const string ConfigMapSuffix = "-source-ca";

    private static readonly string[] KnownAccessModes = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

    private static readonly Dictionary<string, int> ChecksumLengths = new(StringComparer.Ordinal)
    {
        ["md5"] = 32,
        ["sha1"] = 40,
        ["sha256"] = 64,
        ["sha512"] = 128,
    };

    /// <summary>Every problem with <paramref name="request"/>; empty when CDI would take it.</summary>
    public static IReadOnlyList<DataVolumeProblem> Check(DataVolumeRequest request)
    {
        var problems = new List<DataVolumeProblem>();
        void Add(string id, string parameter, string message) => problems.Add(new DataVolumeProblem(id, parameter, message));

        CheckName(request.Name, "Name", "DataVolume", Add);
        if (request.Namespace is { } ns && !DnsLabel().IsMatch(ns))
        {
            Add("InvalidNamespace", "Namespace", $"'{ns}' is not a valid namespace name (lowercase letters, digits and '-', at most 63).");
        }

        CheckForeignFields(request, Add);
        CheckSize(request, Add);
        CheckStorage(request, Add);
        CheckContentType(request, Add);
        CheckSource(request, Add);
        CheckCredentials(request, Add);
        CheckCertificates(request, Add);
        foreach (var (key, _) in request.Labels.Concat(request.Annotations))
        {
            if (!QualifiedName().IsMatch(key))
            {
                Add("InvalidMetadataKey", request.Labels.ContainsKey(key) ? "Label" : "Annotation", $"'{key}' is not a valid label or annotation key ([prefix/]name, name at most 63 characters).");
            }
        }

        return problems;
    }

    /// <summary>Whether the kind clones from an existing object, so CDI can take the size from it (storage API only).</summary>
    public static bool IsClone(DataVolumeSourceKind kind) => kind is DataVolumeSourceKind.Pvc or DataVolumeSourceKind.Snapshot or DataVolumeSourceKind.DataSource;

    private static void CheckName(string name, string parameter, string what, Action<string, string, string> add)
    {
        if (!DnsSubdomain().IsMatch(name) || name.Length > 253)
        {
            add("InvalidName", parameter, $"'{name}' is not a valid {what} name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters (CDI names its pods and labels after it).");
        }
        else if (name.Length > 63)
        {
            // CDI names the importer pod and labels after the DataVolume; longer names fail there.
            add("NameTooLong", parameter, $"'{name}' is {name.Length} characters; CDI's pods and labels take the DataVolume's name, so keep it to 63 or fewer.");
        }
    }

    // A field of another kind of source means the caller asked for two sources at once.
    private static void CheckForeignFields(DataVolumeRequest r, Action<string, string, string> add)
    {
        var kind = r.Source;
        var foreign = new List<string>();
        void Only(bool set, string parameter, params DataVolumeSourceKind[] kinds)
        {
            if (set && !kinds.Contains(kind))
            {
                foreign.Add(parameter);
            }
        }

        Only(r.Url is not null, "Url", DataVolumeSourceKind.Http, DataVolumeSourceKind.Registry, DataVolumeSourceKind.S3, DataVolumeSourceKind.Gcs, DataVolumeSourceKind.ImageIo, DataVolumeSourceKind.Vddk);
        Only(r.ImageStream is not null, "ImageStream", DataVolumeSourceKind.Registry);
        Only(r.PullMethod is not null, "PullMethod", DataVolumeSourceKind.Registry);
        Only(r.Credential is not null || r.SecretName is not null, r.Credential is not null ? "Credential" : "SecretName",
            DataVolumeSourceKind.Http, DataVolumeSourceKind.Registry, DataVolumeSourceKind.S3, DataVolumeSourceKind.Gcs, DataVolumeSourceKind.ImageIo, DataVolumeSourceKind.Vddk);
        Only(r.ServiceAccountKey is not null, "ServiceAccountKeyFile", DataVolumeSourceKind.Gcs);
        Only(r.CertificatePem is not null || r.CertConfigMap is not null, r.CertificatePem is not null ? "CertificateFile" : "CertConfigMap",
            DataVolumeSourceKind.Http, DataVolumeSourceKind.Registry, DataVolumeSourceKind.S3, DataVolumeSourceKind.ImageIo, DataVolumeSourceKind.Vddk);
        Only(r.ExtraHeaders.Count > 0 || r.SecretExtraHeaders.Count > 0, "ExtraHeader", DataVolumeSourceKind.Http);
        Only(r.Checksum is not null, "Checksum", DataVolumeSourceKind.Http);
        Only(r.SkipCertificateCheck, "SkipCertificateCheck", DataVolumeSourceKind.Http, DataVolumeSourceKind.ImageIo);
        Only(r.SourceName is not null || r.SourceNamespace is not null, "SourceNamespace", DataVolumeSourceKind.Pvc, DataVolumeSourceKind.Snapshot, DataVolumeSourceKind.DataSource);
        Only(r.DiskId is not null, "DiskId", DataVolumeSourceKind.ImageIo);
        Only(r.Uuid is not null || r.BackingFile is not null || r.Thumbprint is not null || r.InitImageUrl is not null || r.ExtraArgs is not null, "Uuid", DataVolumeSourceKind.Vddk);
        if (foreign.Count > 0)
        {
            add("MultipleSources", foreign[0], $"A DataVolume has exactly one source; a {Describe(kind)} source does not take -{string.Join(", -", foreign)}.");
        }
    }

    private static void CheckSize(DataVolumeRequest r, Action<string, string, string> add)
    {
        if (r.Size is not { } size)
        {
            if (!IsClone(r.Source) || r.UsePvcApi)
            {
                add("SizeMissing", "Size", IsClone(r.Source)
                    ? "The pvc API needs a size even for a clone; give -Size, or leave out -UsePvcApi so CDI takes the source's size."
                    : $"A {Describe(r.Source)} DataVolume needs a size (-Size 10GiB or -Size 10Gi).");
            }
        }
        else if (size <= 0)
        {
            add("SizeNotPositive", "Size", "The size must be greater than zero.");
        }
        else if (size < MinimumSize)
        {
            add("SizeTooSmall", "Size", $"The size should be at least 1 MiB (CDI refuses smaller DataVolumes); {size} bytes were given.");
        }
    }

    private static void CheckStorage(DataVolumeRequest r, Action<string, string, string> add)
    {
        foreach (var mode in r.AccessModes)
        {
            if (!KnownAccessModes.Contains(mode, StringComparer.Ordinal))
            {
                add("InvalidAccessMode", "AccessMode", $"'{mode}' is not an access mode: {string.Join(", ", KnownAccessModes)}.");
            }
        }

        if (r.UsePvcApi && r.AccessModes.Count > 1)
        {
            add("MultipleAccessModes", "AccessMode", "The pvc API takes one access mode; CDI refuses a PVC with several.");
        }

        if (r.VolumeMode is { } volumeMode && volumeMode is not ("Filesystem" or "Block"))
        {
            add("InvalidVolumeMode", "VolumeMode", $"'{volumeMode}' is not a volume mode: Filesystem or Block.");
        }

        if (r.StorageClass is { } storageClass && !DnsSubdomain().IsMatch(storageClass))
        {
            add("InvalidStorageClass", "StorageClass", $"'{storageClass}' is not a valid StorageClass name.");
        }
    }

    private static void CheckContentType(DataVolumeRequest r, Action<string, string, string> add)
    {
        if (r.ContentType is not ("kubevirt" or "archive"))
        {
            add("InvalidContentType", "ContentType", $"ContentType not one of: kubevirt, archive ('{r.ContentType}' was given).");
            return;
        }

        if (r.ContentType != "archive")
        {
            return;
        }

        if (r.VolumeMode == "Block")
        {
            add("ArchiveOnBlock", "VolumeMode", "ContentType Archive cannot have block volumeMode: an archive is unpacked onto a filesystem.");
        }

        if (r.Source == DataVolumeSourceKind.Blank)
        {
            add("ArchiveNotSupported", "ContentType", "SourceType cannot be blank and the contentType be archive.");
        }
        else if (r.Source == DataVolumeSourceKind.Registry)
        {
            add("ArchiveNotSupported", "ContentType", "ContentType must be kubevirt when Source is Registry.");
        }
    }

    private static void CheckSource(DataVolumeRequest r, Action<string, string, string> add)
    {
        switch (r.Source)
        {
            case DataVolumeSourceKind.Http or DataVolumeSourceKind.S3 or DataVolumeSourceKind.ImageIo:
                CheckUrl(r.Url, r.Source, allowGs: false, add);
                break;
            case DataVolumeSourceKind.Gcs:
                CheckUrl(r.Url, r.Source, allowGs: true, add);
                break;
            case DataVolumeSourceKind.Vddk:
                CheckUrl(r.Url, r.Source, allowGs: false, add);
                foreach (var (value, parameter) in new[] { (r.Uuid, "Uuid"), (r.BackingFile, "BackingFile"), (r.Thumbprint, "Thumbprint") })
                {
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        add("VddkIncomplete", parameter, $"A VDDK source needs -Url, -Uuid, -BackingFile, -Thumbprint and credentials; -{parameter} is missing.");
                    }
                }

                break;
            case DataVolumeSourceKind.Registry:
                CheckRegistry(r, add);
                break;
            case DataVolumeSourceKind.Pvc or DataVolumeSourceKind.Snapshot or DataVolumeSourceKind.DataSource:
                if (string.IsNullOrEmpty(r.SourceName))
                {
                    add("CloneSourceMissing", "SourceName", $"A {Describe(r.Source)} clone needs the name of the object to clone.");
                }
                else
                {
                    CheckName(r.SourceName, "SourceName", Describe(r.Source), add);
                }

                break;
        }

        if (r.Source == DataVolumeSourceKind.ImageIo && string.IsNullOrWhiteSpace(r.DiskId))
        {
            add("ImageIoIncomplete", "DiskId", "An ImageIO source needs -DiskId.");
        }

        if (r.Checksum is { } checksum)
        {
            CheckChecksum(checksum, add);
        }

        for (var i = 0; i < r.ExtraHeaders.Count; i++)
        {
            if (!HeaderLine().IsMatch(r.ExtraHeaders[i]))
            {
                // A header's value may be a token: the message shows only where the bad line is.
                add("InvalidHeader", "ExtraHeader", $"Extra header {i + 1} is not a header line 'Name: value'.");
            }
        }
    }

    private static void CheckRegistry(DataVolumeRequest r, Action<string, string, string> add)
    {
        if ((r.Url is null) == (r.ImageStream is null))
        {
            add("RegistrySourceInvalid", "RegistryUrl", "Source registry should have either URL or ImageStream.");
            return;
        }

        if (r.PullMethod is { } method && method is not ("pod" or "node"))
        {
            add("InvalidPullMethod", "PullMethod", $"ImportMethod {method} is neither pod, node or \"\".");
        }

        if (r.Url is { } url)
        {
            var scheme = url.Split("://", 2) is [var s, _] ? s : "";
            if (scheme is not ("docker" or "oci-archive"))
            {
                add("InvalidRegistryUrl", "RegistryUrl", $"Illegal registry source URL scheme {url}: use docker://registry/image:tag or oci-archive://path.");
            }
        }
        else if (r.PullMethod != "node")
        {
            add("ImageStreamNeedsNodePull", "PullMethod", "Source registry ImageStream is supported only with node pull import method (-PullMethod node).");
        }
    }

    private static void CheckUrl(string? url, DataVolumeSourceKind kind, bool allowGs, Action<string, string, string> add)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            add("SourceUrlMissing", "Url", $"A {Describe(kind)} source needs a URL.");
            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            add("InvalidSourceUrl", "Url", $"Invalid source URL: {url}");
        }
        else if (uri.Scheme is not ("http" or "https") && !(allowGs && uri.Scheme == "gs"))
        {
            add("InvalidSourceUrl", "Url", $"Invalid source URL scheme: {url} ({(allowGs ? "gs, " : string.Empty)}http or https).");
        }
        else if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            // The URL would end up in the DataVolume's spec for anyone who may read it.
            add("CredentialInUrl", "Url", "The URL carries a user name or password; pass -Credential instead, so it goes into a Secret.");
        }
    }

    private static void CheckChecksum(string checksum, Action<string, string, string> add)
    {
        var parts = checksum.Split(':', 2);
        if (parts.Length != 2)
        {
            add("InvalidChecksum", "Checksum", $"Invalid checksum format: expected 'algorithm:hash', got '{checksum}'.");
            return;
        }

        var algorithm = parts[0].Trim().ToLowerInvariant();
        var hash = parts[1].Trim();
        if (!ChecksumLengths.TryGetValue(algorithm, out var length))
        {
            add("InvalidChecksum", "Checksum", $"Unsupported hash algorithm '{algorithm}': supported algorithms are: md5, sha1, sha256, sha512.");
        }
        else if (hash.Length != length || !hash.All(Uri.IsHexDigit))
        {
            add("InvalidChecksum", "Checksum", $"Invalid {algorithm} hash: expected {length} hex characters, got '{hash}'.");
        }
    }

    private static void CheckCredentials(DataVolumeRequest r, Action<string, string, string> add)
    {
        if (r.Credential is not null && r.SecretName is not null)
        {
            add("CredentialConflict", "SecretName", "Give either -Credential (a new Secret is created) or -SecretName (an existing Secret), not both.");
        }

        if (r.Source == DataVolumeSourceKind.Gcs && r.Credential is not null)
        {
            add("GcsNeedsServiceAccountKey", "Credential", "A GCS source authenticates with a service account key: pass -ServiceAccountKeyFile (or -SecretName of a Secret with credentials.json).");
        }

        if (r.Source is DataVolumeSourceKind.ImageIo or DataVolumeSourceKind.Vddk && r.Credential is null && r.SecretName is null)
        {
            add("CredentialRequired", "Credential", $"A {Describe(r.Source)} source needs credentials: -Credential or -SecretName.");
        }

        if (r.Credential is { } credential && string.IsNullOrEmpty(credential.UserName))
        {
            add("CredentialIncomplete", "Credential", "The credential has no user name (access key id).");
        }

        if (r.ServiceAccountKey is { } key)
        {
            try
            {
                using var document = System.Text.Json.JsonDocument.Parse(key);
            }
            catch (System.Text.Json.JsonException)
            {
                add("InvalidServiceAccountKey", "ServiceAccountKeyFile", "The service account key is not JSON.");
            }
        }

        if (r.SecretName is { } secret)
        {
            CheckName(secret, "SecretName", "Secret", add);
        }

        foreach (var name in r.SecretExtraHeaders)
        {
            CheckName(name, "SecretExtraHeader", "Secret", add);
        }
    }

    private static void CheckCertificates(DataVolumeRequest r, Action<string, string, string> add)
    {
        if (r.CertificatePem is not null && r.CertConfigMap is not null)
        {
            add("CertificateConflict", "CertConfigMap", "Give either -CertificateFile (a new ConfigMap is created) or -CertConfigMap (an existing one), not both.");
        }

        if (r.Source == DataVolumeSourceKind.ImageIo && r.CertificatePem is null && r.CertConfigMap is null && !r.SkipCertificateCheck)
        {
            add("CertificateRequired", "CertificateFile", "An ImageIO source requires CertConfigMap or InsecureSkipVerify: give -CertificateFile, -CertConfigMap or -SkipCertificateCheck.");
        }

        if (r.SkipCertificateCheck && (r.CertificatePem is not null || r.CertConfigMap is not null))
        {
            add("CertificateConflict", "SkipCertificateCheck", "-SkipCertificateCheck turns off the verification a CA certificate is given for; give one or the other.");
        }

        if (r.CertificatePem is { } pem)
        {
            var certificates = new X509Certificate2Collection();
            try
            {
                certificates.ImportFromPem(pem);
            }
            catch (CryptographicException e)
            {
                add("InvalidCertificate", "CertificateFile", $"The CA bundle cannot be read as PEM certificates: {e.Message}");
                return;
            }

            if (certificates.Count == 0)
            {
                add("InvalidCertificate", "CertificateFile", "The CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            }

            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }

        if (r.CertConfigMap is { } configMap)
        {
            CheckName(configMap, "CertConfigMap", "ConfigMap", add);
        }
    }

    /// <summary>"http", "registry", "PVC", ...: how messages name a kind of source.</summary>
    public static string Describe(DataVolumeSourceKind kind) => kind switch
    {
        DataVolumeSourceKind.Http => "http",
        DataVolumeSourceKind.Registry => "registry",
        DataVolumeSourceKind.Upload => "upload",
        DataVolumeSourceKind.Blank => "blank",
        DataVolumeSourceKind.Pvc => "PVC",
        DataVolumeSourceKind.Snapshot => "VolumeSnapshot",
        DataVolumeSourceKind.DataSource => "DataSource",
        DataVolumeSourceKind.S3 => "S3",
        DataVolumeSourceKind.Gcs => "GCS",
        DataVolumeSourceKind.ImageIo => "ImageIO",
        DataVolumeSourceKind.Vddk => "VDDK",
        _ => kind.ToString(),
    };

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+:.*$")]
    private static partial Regex HeaderLine();
}
