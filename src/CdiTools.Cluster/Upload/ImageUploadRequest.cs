using CdiTools.Engine;

namespace CdiTools.Cluster.Upload;

/// <summary>What Import-CdiImage -Namespace asks for.</summary>
public sealed record ImageUploadRequest
{
    public required ImageLocation Source { get; init; }

    /// <summary>The DataVolume (and PVC) to upload into.</summary>
    public required string Name { get; init; }

    public string? Namespace { get; init; }

    /// <summary>The size in bytes; null to size it from the image and CDI's filesystem overhead for the class.</summary>
    public long? Size { get; init; }

    public string? StorageClass { get; init; }

    public IReadOnlyList<string> AccessModes { get; init; } = [];

    public string? VolumeMode { get; init; }

    public bool BindImmediately { get; init; }

    /// <summary>Upload into a DataVolume (or PVC) that exists already.</summary>
    public bool NoCreate { get; init; }

    /// <summary>Creates the DataVolume even when the scratch preflight finds its scratch PVC will not bind (the findings become warnings).</summary>
    public bool Force { get; init; }

    /// <summary>The source is a tar to unpack onto a Filesystem volume (contentType archive); sent as it is.</summary>
    public bool Archive { get; init; }

    /// <summary>Send the file as it is and let CDI convert it (as virtctl does), instead of converting here.</summary>
    public bool NoConvert { get; init; }

    public string? UploadProxyUrl { get; init; }

    /// <summary>A PEM file of CAs to trust for the upload proxy instead of the kubeconfig's.</summary>
    public string? UploadProxyCertificateFile { get; init; }

    public bool SkipCertificateCheck { get; init; }

    public int RetryCount { get; init; } = 5;

    /// <summary>Return once the bytes are sent, without waiting for CDI to finish.</summary>
    public bool NoWait { get; init; }

    /// <summary>Keeps a DataVolume this upload created when the upload fails before CDI has the data (it is deleted otherwise).</summary>
    public bool KeepFailedDataVolume { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(1);

    public ImageOpenOptions OpenOptions { get; init; } = new();
}
