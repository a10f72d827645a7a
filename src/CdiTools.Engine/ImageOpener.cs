using CdiTools.Engine.Formats;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine;

/// <summary>
/// Opens an image: tells each layer by the probes of <see cref="LayerFormats"/>, peels wrappers one
/// by one (qcow2 in xz in tar works), and hands the innermost layer to its format's driver, with
/// random access where the layers allow it and forward-only reading where they do not.
/// </summary>
public static class ImageOpener
{
    /// <summary>Opens an image from any layer input; the image owns the input from then on.</summary>
    public static OpenedImage Open(LayerInput input, ImageOpenOptions options)
    {
        long? inputLength = input.Length;

        // A VMDK descriptor's extents lie beside it: only a local file has a folder to find them in.
        var sourceDirectory = input.Random is FileSource file ? Path.GetDirectoryName(Path.GetFullPath(file.Path)) : null;
        Func<long> bytesRead;
        byte[]? firstHead = null;

        // A fixed VHD and a DMG are known only by their last 512 bytes, looked at in the outermost
        // file itself, also when hashing reads it forward, and not counted as read, like the head.
        var outerFile = input.Random;
        if (input.Random is { } random && options.ExpectedChecksum is null)
        {
            // Look at the magic before counting, so the bytes read come out as the file's length
            // when a decompressor then reads it whole.
            (_, firstHead) = input.Peek(LayerFormats.HeadLength);
            var counting = new CountingRandomSource(random);
            input = LayerInput.FromRandom(counting);
            bytesRead = () => counting.BytesRead;
        }
        else
        {
            // A checksum means one forward pass over the whole input, hashed as it streams.
            var counting = new CountingStream(input.OpenStream(), options.ExpectedChecksum);
            input = LayerInput.FromStream(counting, inputLength);
            bytesRead = () => counting.BytesRead;
        }

        var chain = new List<string>();
        string? tarMember = null;
        try
        {
            for (var depth = 0; ; depth++)
            {
                if (depth > options.MaxLayers)
                {
                    throw new ImageException(ImageErrors.TooManyLayers, $"The image is wrapped in more than {options.MaxLayers} layers ({string.Join(" > ", chain)}).");
                }

                byte[] head;
                if (depth == 0 && firstHead is not null)
                {
                    head = firstHead;
                }
                else
                {
                    (input, head) = input.Peek(LayerFormats.HeadLength);
                }

                var format = LayerFormats.Detect(head);
                if (format.Role == LayerRole.Wrapper)
                {
                    var peeled = format.Peel!(input, options);
                    chain.Add(peeled.ChainEntry);
                    input = peeled.Inner;
                    tarMember = peeled.TarMember ?? tarMember;
                    continue;
                }

                input = ReadAhead(input, depth);
                (byte[] Bytes, long Length)? tail = null;

                // A fixed VHD's only cookie is its footer at the end, and a DMG's its trailer: seen
                // only where the end can be read before the data; forward-only such a file stays
                // raw, as CDI takes it.
                if (format == LayerFormats.Raw && (depth == 0 ? outerFile : input.Random) is { Length: >= 1024 } tailSource)
                {
                    var last = new byte[512];
                    var lastRead = tailSource.ReadAt(tailSource.Length - last.Length, last);
                    if (LayerFormats.DetectTail(last.AsSpan(0, lastRead), tailSource.Length) is { } told)
                    {
                        format = told;
                        tail = (last, tailSource.Length);
                    }
                }

                if (format.Role == LayerRole.Refused)
                {
                    throw Unsupported(format);
                }

                var driver = format.Open!(new DiskOpening(input, head, options, depth == 0 ? sourceDirectory : null, tail));
                chain.Add(driver.Details.Format);
                return new OpenedImage(driver, chain, input.Random is not null, inputLength, bytesRead, tarMember);
            }
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    private static ImageException Unsupported(LayerFormat format) => new(
        ImageErrors.UnsupportedImageFormat,
        $"The image is {format.Name}, a format CDI does not import (it takes {string.Join(", ", LayerFormats.InRole(LayerRole.Disk).Select(f => f.CommonName))}); convert it with 'qemu-img convert -O qcow2' first.");

    // Behind one or more wrappers the format layer is a forward stream that decoders fill: they
    // get a thread of their own, so the driver's work overlaps theirs.
    private static LayerInput ReadAhead(LayerInput input, int depth) =>
        depth > 0 && input.Forward is { } stream ? LayerInput.FromStream(new ReadAheadStream(stream), input.Length) : input;
}
