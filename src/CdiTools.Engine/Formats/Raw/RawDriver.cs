using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Raw;

/// <summary>
/// A raw image: the disk is the bytes themselves. Like qemu-img, the disk's size is the input's
/// length rounded up to a multiple of 512, the tail read as zeros. A local file's holes are skipped,
/// not read.
/// </summary>
internal sealed class RawDriver : IImageDriver
{
    private const int Sector = 512;
    private const int ReadSize = 1 << 20;

    private readonly LayerInput input;

    public RawDriver(LayerInput input)
    {
        this.input = input;
        Details = new ImageDetails
        {
            Format = "raw",
            VirtualSize = input.Length is { } length ? RoundUp(length) : null,
            FileLength = input.Length,
        };
    }

    public ImageDetails Details { get; }

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        if (input.Random is { } random)
        {
            SparseCopy.Copy(random, 0, random.Length, output, at => new ImageException(ImageErrors.SourceTruncated, "The image ended before its announced length.", at), cancellationToken);
        }
        else
        {
            var stream = input.Forward!;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var span = output.GetSpan(ReadSize);
                var read = stream.Read(span[..Math.Min(span.Length, ReadSize)]);
                if (read == 0)
                {
                    break;
                }

                output.Advance(read);
            }
        }

        output.WriteZeros(RoundUp(output.Position) - output.Position);
    }

    public void Dispose() => input.Dispose();

    private static long RoundUp(long length) => (length + Sector - 1) / Sector * Sector;
}
