using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Tests;

/// <summary>Opens a local image file as the engine's callers do (through a FileSource with random access), for tests that inspect the opened image.</summary>
internal static class LocalImages
{
    public static OpenedImage Open(string path, ImageOpenOptions? options = null)
    {
        var source = new FileSource(path);
        try
        {
            return ImageOpener.Open(LayerInput.FromRandom(source), options ?? new ImageOpenOptions());
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }
}
