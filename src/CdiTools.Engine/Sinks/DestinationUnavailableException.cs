namespace CdiTools.Engine.Sinks;

/// <summary>
/// The destination cannot be written: its folder does not exist, or this user may not write
/// there. Raised before anything is read, naming the folder and the reason rather than the
/// temporary file the disk would have been written under.
/// </summary>
public sealed class DestinationUnavailableException(string errorId, string path, string message, Exception? innerException = null)
    : IOException(message, innerException)
{
    /// <summary>DestinationFolderNotFound or DestinationNotWritable.</summary>
    public string ErrorId { get; } = errorId;

    /// <summary>The destination file that was asked for.</summary>
    public string Path { get; } = path;
}
