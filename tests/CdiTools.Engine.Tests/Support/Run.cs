using CdiTools.Engine;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Support;

/// <summary>How the tests run the engine: from a file with random access, or forward from a stream.</summary>
internal static class Run
{
    public static ImportResult FileToFile(string image, string destination, ImageOpenOptions? options = null)
    {
        using var opened = ImageOpener.Open(LayerInput.FromRandom(new FileSource(image)), options ?? new ImageOpenOptions());
        using var sink = new SparseFileSink(destination, overwrite: false);
        return ImageConverter.Convert(opened, sink, computeSha256: true);
    }

    public static ImportResult StreamToFile(string image, string destination, ImageOpenOptions? options = null)
    {
        var stream = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var opened = ImageOpener.Open(LayerInput.FromStream(stream), options ?? new ImageOpenOptions());
        using var sink = new SparseFileSink(destination, overwrite: false);
        return ImageConverter.Convert(opened, sink, computeSha256: true);
    }

    /// <summary>Converts and returns the result with the output's hash and allocation checked against the file on disk.</summary>
    public static ImportResult Checked(Func<string, string, ImageOpenOptions?, ImportResult> convert, string image, string destination, ImageOpenOptions? options = null)
    {
        var result = convert(image, destination, options);
        Assert.Equal(DiskContent.Sha256(destination), result.Sha256);
        Assert.Equal(new FileInfo(destination).Length, result.BytesWritten);
        return result;
    }
}
