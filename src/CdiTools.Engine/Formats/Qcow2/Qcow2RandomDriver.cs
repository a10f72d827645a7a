using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// Converts a qcow2 image it can read at any offset (a file, an HTTP resource with ranges): its
/// clusters, as <see cref="Qcow2ExtentMap"/> describes them, go through <see cref="RandomExtentReader"/>.
/// </summary>
internal sealed class Qcow2RandomDriver : IImageDriver
{
    private readonly IRandomAccessSource source;
    private readonly Qcow2Header header;
    private readonly Qcow2Mapping mapping;
    private readonly bool preferNativeDecoders;

    public Qcow2RandomDriver(IRandomAccessSource source, Qcow2Header header, bool preferNativeDecoders)
    {
        this.source = source;
        this.header = header;
        this.preferNativeDecoders = preferNativeDecoders;
        mapping = new Qcow2Mapping(header, source.Length);
        Details = Qcow2Details.From(header, source.Length);
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal => header.Refusal();

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        using var map = new Qcow2ExtentMap(source, header, mapping, preferNativeDecoders);
        RandomExtentReader.Convert(source, map, output, cancellationToken);
    }

    public void Dispose() => source.Dispose();
}
