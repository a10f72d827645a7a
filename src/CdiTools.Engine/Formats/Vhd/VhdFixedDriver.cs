using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vhd;

/// <summary>
/// A fixed VHD: the disk's bytes as they are, then a 512-byte footer at the very end. Its only
/// cookie is in that footer, so qemu-img and CDI's importer probe it as raw and keep the footer in
/// the disk. With random access the footer is found, checked and left out; a forward-only reader
/// cannot know the last 512 bytes are a footer until the end, by which time they are written, so
/// there the file stays raw. A file read forward only to hash it on the way (an expected checksum)
/// has its footer found first, by random access, and is then read forward to the footer.
/// </summary>
internal sealed class VhdFixedDriver : IImageDriver
{
    private const int ReadSize = 1 << 20;

    private readonly IRandomAccessSource? source;
    private readonly Stream? stream;
    private readonly byte[] footerBytes;

    private VhdFixedDriver(IRandomAccessSource? source, Stream? stream, byte[] footerBytes, VhdFooter footer, long fileLength)
    {
        this.source = source;
        this.stream = stream;
        this.footerBytes = footerBytes;
        Details = new ImageDetails
        {
            Format = "vpc",
            Subformat = "fixed",
            VirtualSize = footer.VirtualSize,
            FileLength = fileLength,
            Notes = ["fixed VHD: the 512-byte footer is not part of the disk; qemu-img probing this file as raw would keep it (qemu-img -f vpc gives the same disk as this)"],
        };
    }

    public ImageDetails Details { get; }

    public long ScratchBytes => 0;

    public long KeptBytes => 0;

    /// <summary>The driver for <paramref name="layer"/>, at random or forward from its start, with the footer <see cref="FindFooter"/> found in the last 512 of its <paramref name="fileLength"/> bytes.</summary>
    public static VhdFixedDriver Open(LayerInput layer, (byte[] Bytes, VhdFooter Footer) found, long fileLength) =>
        new(layer.Random, layer.Random is null ? layer.Forward : null, found.Bytes, found.Footer, fileLength);

    /// <summary>
    /// The footer when a file of <paramref name="length"/> bytes whose last 512 are
    /// <paramref name="tail"/> ends in a fixed-disk footer that is whole and consistent: the right
    /// cookie and checksum, disk type 2, and a current size that is exactly the bytes before it.
    /// Anything less and the file is raw, as qemu and CDI take it: null.
    /// </summary>
    public static (byte[] Bytes, VhdFooter Footer)? FindFooter(ReadOnlySpan<byte> tail, long length)
    {
        if (length <= VhdFooter.Length || tail.Length != VhdFooter.Length || !VhdFooter.IsValid(tail))
        {
            return null;
        }

        VhdFooter footer;
        try
        {
            footer = VhdFooter.Parse(tail);
        }
        catch (ImageException)
        {
            return null;
        }

        var data = length - VhdFooter.Length;
        return footer.DiskType == VhdFooter.FixedDisk && footer.CurrentSize == data && footer.VirtualSize <= data
            ? (tail.ToArray(), footer)
            : null;
    }

    public void Convert(RawOutput output, CancellationToken cancellationToken)
    {
        var size = Details.VirtualSize!.Value;
        ImageException Truncated(long at) => new(ImageErrors.VhdOffsetBeyondEndOfFile, "The image ended before its announced length.", at);
        if (source is not null)
        {
            SparseCopy.Copy(source, 0, size, output, Truncated, cancellationToken);
            return;
        }

        var forward = stream!;
        for (long offset = 0; offset < size;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var span = output.GetSpan(ReadSize);
            var count = (int)Math.Min(Math.Min(span.Length, ReadSize), size - offset);
            var read = forward.ReadAtLeast(span[..count], count, throwOnEndOfStream: false);
            if (read != count)
            {
                throw Truncated(offset + read);
            }

            output.Advance(count);
            offset += count;
        }

        // Read to the end so the input's checksum covers it, and make sure the footer seen at the
        // start is the one that arrives.
        var footer = new byte[VhdFooter.Length + 1];
        var footerRead = forward.ReadAtLeast(footer, footer.Length, throwOnEndOfStream: false);
        if (footerRead != VhdFooter.Length || !footer.AsSpan(0, footerRead).SequenceEqual(footerBytes))
        {
            throw new ImageException(ImageErrors.VhdFooterChanged, "The fixed VHD's footer read at the end differs from the one found before reading; the file changed while it was read.", size);
        }
    }

    public void Dispose()
    {
        source?.Dispose();
        stream?.Dispose();
    }
}
