namespace CdiTools.Engine.Layers.Xz;

/// <summary>The <see cref="ImageException.ErrorId"/> values an xz layer can fail with, the same from either decoder.</summary>
internal static class XzErrors
{
    public const string NotXz = "XzNotXz";
    public const string Corrupt = "XzCorrupt";
    public const string Truncated = "XzTruncated";
    public const string UnsupportedOptions = "XzUnsupportedOptions";
    public const string UnsupportedCheck = "XzUnsupportedCheck";
    public const string MemoryLimit = "XzMemoryLimit";
}
