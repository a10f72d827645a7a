using CdiTools.Engine.Formats;
using CdiTools.Engine.Formats.Qcow2;
using CdiTools.Engine.Formats.Raw;
using CdiTools.Engine.Formats.Vdi;
using CdiTools.Engine.Formats.Vhd;
using CdiTools.Engine.Formats.Vhdx;
using CdiTools.Engine.Formats.Vmdk;
using CdiTools.Engine.Layers;
using CdiTools.Engine.Layers.Gzip;
using CdiTools.Engine.Layers.Zstd;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine;

/// <summary>
/// Opens an image: detects each layer by its magic bytes, peels wrappers one by one (qcow2 in xz in
/// tar works), and hands the innermost layer to its format driver, with random access where the
/// layers allow it and forward-only reading where they do not.
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

        // Hashing reads the file forward, but its end can still be looked at: a fixed VHD and a
        // DMG are known only by their last 512 bytes.
        var hashedFile = options.ExpectedChecksum is not null ? input.Random : null;
        if (input.Random is { } random && options.ExpectedChecksum is null)
        {
            // Look at the magic before counting, so the bytes read come out as the file's length
            // when a decompressor then reads it whole.
            (_, firstHead) = input.Peek(LayerDetector.HeadLength);
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
                    (input, head) = input.Peek(LayerDetector.HeadLength);
                }

                var kind = LayerDetector.Detect(head);
                switch (kind)
                {
                    case LayerKind.Gzip:
                        chain.Add($"gzip ({GzipLayer.DecoderName(options.PreferNativeDecoders)})");
                        input = LayerInput.FromStream(GzipLayer.Open(input.OpenStream(), options.PreferNativeDecoders));
                        break;
                    case LayerKind.Zstd:
                        chain.Add($"zstd ({ZstdLayer.DecoderName(options.PreferNativeDecoders)})");
                        input = LayerInput.FromStream(ZstdLayer.Open(input.OpenStream(), options.PreferNativeDecoders));
                        break;
                    case LayerKind.Xz:
                        input = OpenXz(input, options, chain);
                        break;
                    case LayerKind.Tar:
                        (input, tarMember) = OpenTar(input, chain);
                        break;
                    case LayerKind.Qcow2:
                        chain.Add("qcow2");
                        input = ReadAhead(input, depth);
                        return new OpenedImage(OpenQcow2(input, head, options), chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Vhdx:
                        chain.Add("vhdx");
                        input = ReadAhead(input, depth);
                        return new OpenedImage(OpenVhdx(input, options), chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Vmdk:
                        chain.Add("vmdk");
                        input = ReadAhead(input, depth);
                        return new OpenedImage(VmdkDriver.OpenSparse(input, options), chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Raw when VmdkDescriptor.LooksLikeDescriptorFile(head):
                        chain.Add("vmdk");
                        return new OpenedImage(VmdkDriver.OpenDescriptorFile(input, depth == 0 ? sourceDirectory : null, options), chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Vhd:
                        chain.Add("vpc");
                        input = ReadAhead(input, depth);
                        return new OpenedImage(
                            input.Random is { } vhdSource ? VhdDynamicDriver.OpenRandom(vhdSource) : VhdDynamicDriver.OpenStream(input.Forward!, input.Length, options),
                            chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Vdi:
                        chain.Add("vdi");
                        input = ReadAhead(input, depth);
                        return new OpenedImage(
                            input.Random is { } vdiSource ? VdiDriver.OpenRandom(vdiSource) : VdiDriver.OpenStream(input.Forward!, input.Length, options),
                            chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    case LayerKind.Raw:
                        input = ReadAhead(input, depth);

                        // A fixed VHD's only cookie is its footer at the end, and a DMG's its
                        // trailer: seen only where the end can be read before the data (see
                        // VhdFixedDriver); forward-only such a file stays raw, as CDI takes it.
                        if ((input.Random ?? (depth == 0 ? hashedFile : null)) is { Length: >= 1024 } tailSource)
                        {
                            var tail = new byte[512];
                            var tailRead = tailSource.ReadAt(tailSource.Length - tail.Length, tail);
                            if (VhdFixedDriver.FindFooter(tail.AsSpan(0, tailRead), tailSource.Length) is { } footer)
                            {
                                chain.Add("vpc");
                                var fixedVhd = input.Random is { } fixedSource
                                    ? VhdFixedDriver.OpenRandom(fixedSource, footer)
                                    : VhdFixedDriver.OpenStream(input.Forward!, footer, tailSource.Length);
                                return new OpenedImage(fixedVhd, chain, input.Random is not null, inputLength, bytesRead, tarMember);
                            }

                            if (LayerDetector.DetectTrailer(tail.AsSpan(0, tailRead)) is not LayerKind.Raw and var trailerKind)
                            {
                                throw Unsupported(trailerKind);
                            }
                        }

                        chain.Add("raw");
                        return new OpenedImage(new RawDriver(input), chain, input.Random is not null, inputLength, bytesRead, tarMember);
                    default:
                        throw Unsupported(kind);
                }
            }
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    private static ImageException Unsupported(LayerKind kind) => new(
        ImageErrors.UnsupportedImageFormat,
        $"The image is {kind.ToString().ToLowerInvariant()}, a format CDI does not import (it takes raw, qcow2, vmdk, vdi, vhd and vhdx); convert it with 'qemu-img convert -O qcow2' first.");

    // Behind one or more wrappers the format layer is a forward stream that decoders fill: they
    // get a thread of their own, so the driver's work overlaps theirs.
    private static LayerInput ReadAhead(LayerInput input, int depth) =>
        depth > 0 && input.Forward is { } stream ? LayerInput.FromStream(new ReadAheadStream(stream), input.Length) : input;

    private static IImageDriver OpenQcow2(LayerInput input, byte[] head, ImageOpenOptions options)
    {
        if (input.Random is { } random)
        {
            var clusterSize = Qcow2Header.RequiredLength(head);
            var cluster0 = new byte[clusterSize];
            var read = random.ReadAt(0, cluster0);
            return new Qcow2RandomDriver(random, Qcow2Header.Parse(cluster0.AsSpan(0, read), random.Length), options.PreferNativeDecoders);
        }

        return new Qcow2StreamDriver(input.Forward!, input.Length, options);
    }

    private static IImageDriver OpenVhdx(LayerInput input, ImageOpenOptions options) =>
        input.Random is { } random ? new VhdxRandomDriver(random) : new VhdxStreamDriver(input.Forward!, input.Length, options);

    private static LayerInput OpenXz(LayerInput input, ImageOpenOptions options, List<string> chain)
    {
        var stream = Layers.Xz.XzLayer.Open(input.OpenStream(), options.PreferNativeDecoders, out var decoder);
        chain.Add($"xz ({decoder})");
        return LayerInput.FromStream(stream);
    }

    private static (LayerInput Member, string Description) OpenTar(LayerInput input, List<string> chain)
    {
        var (member, choice) = Layers.Tar.TarLayer.Open(input);
        var description = $"{choice.Name}: {choice.Reason}";
        chain.Add($"tar ({description})");
        return (member, description);
    }
}
