using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// Converts a VMDK whose extents it can read at any offset: walks the disk in order through each
/// extent, copies flat extents (skipping their holes), and passes sparse ones, as
/// <see cref="VmdkGrainMap"/> describes them, through <see cref="RandomExtentReader"/>.
/// </summary>
internal sealed class VmdkRandomDriver : IImageDriver
{
    private readonly IReadOnlyList<VmdkExtent> extents;
    private readonly bool preferNativeDecoders;
    /// <param name="refusal">What the image uses that cannot be converted (a parent); null when nothing.</param>
    public VmdkRandomDriver(IReadOnlyList<VmdkExtent> extents, ImageDetails details, bool preferNativeDecoders, ImageException? refusal)
    {
        this.extents = extents;
        this.preferNativeDecoders = preferNativeDecoders;
        Refusal = refusal;
        Details = details;
    }

    public ImageDetails Details { get; }

    public ImageException? Refusal { get; }

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        using var inflaters = new DecoderPool<VmdkGrainInflater>(() => VmdkGrainInflater.Create(preferNativeDecoders));
        foreach (var extent in extents)
        {
            switch (extent)
            {
                case VmdkFlatExtent flat:
                    CopyFlat(flat, output, cancellationToken);
                    break;
                case VmdkSparseExtent sparse:
                    RandomExtentReader.Convert(sparse.Source, new VmdkGrainMap(sparse, inflaters), output, cancellationToken);
                    break;
            }
        }
    }

    public void Dispose()
    {
        foreach (var extent in extents)
        {
            extent.Dispose();
        }
    }

    // qemu reads a flat extent's missing end as zeros; a short flat extent is a truncated copy.
    private static void CopyFlat(VmdkFlatExtent extent, RawOutput output, CancellationToken cancellationToken) =>
        SparseCopy.Copy(
            extent.Source,
            extent.StartOffset,
            extent.Sectors * VmdkHeader.Sector,
            output,
            _ => new ImageException(ImageErrors.VmdkExtentTruncated, $"The flat extent '{extent.Name}' is {extent.Source.Length:N0} bytes; the descriptor needs {extent.StartOffset + (extent.Sectors * VmdkHeader.Sector):N0}.", extent.Source.Length),
            cancellationToken);
}
