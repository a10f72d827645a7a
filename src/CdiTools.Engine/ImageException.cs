namespace CdiTools.Engine;

/// <summary>
/// An image the engine refuses: malformed, truncated, unsupported or unsafe. <see cref="ErrorId"/>
/// is stable across releases so scripts and tests can tell refusals apart; the message says what
/// is wrong and, where it applies, at which byte offset of which layer.
/// </summary>
public sealed class ImageException : Exception
{
    public ImageException(ImageError error, string message, long? offset = null, Exception? innerException = null)
        : base(offset is null ? message : $"{message} (at offset {offset.Value:N0})", innerException)
    {
        Error = error;
        Offset = offset;
    }

    /// <summary>The refusal's id and kind, as <see cref="ImageErrors"/> declares them.</summary>
    public ImageError Error { get; }

    /// <summary>A stable identifier of the refusal, such as <c>Qcow2ClusterBitsOutOfRange</c>.</summary>
    public string ErrorId => Error.Id;

    /// <summary>The byte offset in the layer the problem was found at, where one applies.</summary>
    public long? Offset { get; }

    /// <summary>True when the image is fine but uses something the engine does not convert (a backing file, encryption, ...).</summary>
    public bool IsUnsupported => Error.Kind == ImageErrorKind.Unsupported;
}
