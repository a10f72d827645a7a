using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Raw;

/// <summary>
/// A raw image: the disk is the bytes themselves. Like qemu-img, the disk's size is the input's
/// length rounded up to a multiple of 512, the tail read as zeros.
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
            for (long offset = 0; offset < random.Length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var span = output.GetSpan(ReadSize);
                var want = (int)Math.Min(Math.Min(span.Length, ReadSize), random.Length - offset);
                var read = random.ReadAt(offset, span[..want]);
                if (read == 0)
                {
                    throw new ImageException(ImageErrors.SourceTruncated, "The image ended before its announced length.", offset);
                }

                output.Advance(read);
                offset += read;
            }
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
