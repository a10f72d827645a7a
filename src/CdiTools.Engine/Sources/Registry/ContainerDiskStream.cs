using System.Runtime.ExceptionServices;
using CdiTools.Engine.Layers.Gzip;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Layers.Zstd;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// The disk file of a container disk, streamed out of the image's layers without unpacking them.
/// </summary>
/// <remarks>
/// <para>
/// The disk is the regular file directly under <c>disk/</c> that the image's merged filesystem
/// shows, as KubeVirt and CDI expect it there. Layers are walked from the last to the first, so
/// that what an upper layer does is known before a lower layer is read: a file of the same name,
/// a whiteout (<c>.wh.NAME</c>) or an opaque marker (<c>disk/.wh..wh..opq</c>, or <c>disk</c>
/// itself deleted or replaced) hides what lies below. The first visible file is streamed at once.
/// </para>
/// <para>
/// When it has been read to its end, the rest of the image is walked (headers only) to make sure
/// no other file is visible under <c>disk/</c>: CDI would take the first of several, but which is
/// first depends on how the image was built, so several are refused (RegistryAmbiguousDisk).
/// Every layer read is checked against its digest as it ends, before the end of the disk is
/// reported, so a conversion fed from this stream cannot complete on a tampered blob.
/// </para>
/// </remarks>
internal sealed class ContainerDiskStream : ForwardReadStream
{
    private const string DiskFolder = "disk/";

    private readonly IImageStore store;
    private readonly IReadOnlyList<Descriptor> layers;
    private readonly bool preferNative;
    private readonly CancellationToken cancellationToken;

    // Names directly under disk/ that an upper layer has, deletes or turns into a folder.
    private readonly HashSet<string> hidden = new(StringComparer.Ordinal);
    private readonly List<string> visible = [];
    private HashSet<string> layerNames = new(StringComparer.Ordinal);
    private bool layerHidesBelow;
    private bool lowerHidden;
    private LayerReader? current;
    private int currentIndex;
    private TarMember? member;
    private long position;
    private bool finished;
    private ExceptionDispatchInfo? failure;

    private ContainerDiskStream(IImageStore store, IReadOnlyList<Descriptor> layers, bool preferNative, CancellationToken cancellationToken)
    {
        this.store = store;
        this.layers = layers;
        this.preferNative = preferNative;
        this.cancellationToken = cancellationToken;
    }

    /// <summary>The disk's path in the image (<c>disk/NAME</c>).</summary>
    public string DiskName => member!.Name;

    public long DiskSize => member!.RealSize;

    /// <summary>Which layer holds the disk, as "layer 2 of 3", and how it is compressed.</summary>
    public string LayerDescription => $"layer {currentIndex + 1} of {layers.Count}";

    public string Compression => current!.Compression;

    /// <summary>Finds the disk and leaves the stream at its first byte; the stream then owns <paramref name="store"/>.</summary>
    public static async Task<ContainerDiskStream> OpenAsync(IImageStore store, IReadOnlyList<Descriptor> layers, bool preferNative, CancellationToken cancellationToken)
    {
        if (layers.Count == 0)
        {
            throw new ImageException(ImageErrors.RegistryNoDisk, "The image has no layers, so no disk.");
        }

        var stream = new ContainerDiskStream(store, layers, preferNative, cancellationToken);
        try
        {
            for (var i = layers.Count - 1; i >= 0 && !stream.lowerHidden; i--)
            {
                stream.currentIndex = i;
                stream.current = await LayerReader.OpenAsync(store, layers[i], i, layers.Count, preferNative, sync: false, cancellationToken).ConfigureAwait(false);
                if (stream.Scan(stopAtDisk: true) is { } disk)
                {
                    if (disk.IsSparse)
                    {
                        throw new ImageException(ImageErrors.RegistryUnsupportedSparseDisk, $"The disk {disk.Name} is stored sparse in {stream.LayerDescription}, which container images do not do; this is not read.");
                    }

                    stream.member = disk;
                    return stream;
                }

                stream.EndLayer();
            }

            throw new ImageException(ImageErrors.RegistryNoDisk,
                stream.visible.Count > 0
                    ? $"The image has no regular file directly under disk/: {string.Join(", ", stream.visible)} {(stream.visible.Count == 1 ? "is" : "are")} not one. Links are not followed, neither inside the image nor on this machine (CDI would import a link as an empty file). A container disk keeps its disk image as a file in /disk."
                    : "The image has no file directly under disk/. A container disk keeps its disk image as a file in /disk (FROM scratch, ADD disk.qcow2 /disk/).");
        }
        catch
        {
            stream.current?.Dispose();
            stream.current = null;
            throw;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        failure?.Throw();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        try
        {
            if (position < member!.StoredSize)
            {
                var read = current!.Cursor.ReadSome(buffer[..(int)Math.Min(buffer.Length, member.StoredSize - position)]);
                if (read == 0)
                {
                    throw new ImageException(ImageErrors.TarTruncated, $"{LayerDescription} ends inside the data of {member.Name}.", position);
                }

                position += read;
                return read;
            }

            if (!finished)
            {
                FinishWalk();
                finished = true;
            }

            return 0;
        }
        catch (ImageException error)
        {
            failure = ExceptionDispatchInfo.Capture(error);
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            current?.Dispose();
            current = null;
            store.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads the rest of the disk's layer and every layer below it, checking each, and refuses a second visible file.</summary>
    private void FinishWalk()
    {
        current!.Reader.SkipData(member!);
        Scan(stopAtDisk: false);
        EndLayer();
        for (var i = currentIndex - 1; i >= 0 && !lowerHidden; i--)
        {
            current = LayerReader.OpenAsync(store, layers[i], i, layers.Count, preferNative, sync: true, cancellationToken).AsTask().GetAwaiter().GetResult();
            Scan(stopAtDisk: false);
            EndLayer();
        }

        if (visible.Count > 1)
        {
            throw new ImageException(ImageErrors.RegistryAmbiguousDisk,
                $"The image shows {visible.Count} files under disk/ ({string.Join(", ", visible.Take(10))}); a container disk holds one, and which of several KubeVirt or CDI would take is not defined.");
        }
    }

    /// <summary>Reads the current layer's entries; returns the disk when <paramref name="stopAtDisk"/> and one is seen, with the cursor at its data.</summary>
    private TarMember? Scan(bool stopAtDisk)
    {
        var reader = current!.Reader;
        while (reader.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Classify(entry) && stopAtDisk)
            {
                return entry;
            }

            reader.SkipData(entry);
        }

        return null;
    }

    /// <summary>Notes what an entry does to the merged disk/ folder; true when it is a visible regular file directly under it.</summary>
    private bool Classify(TarMember entry)
    {
        var name = entry.Name.TrimEnd('/');
        if (name == "disk")
        {
            // A file or link in the folder's place hides the folder of lower layers.
            layerHidesBelow |= entry.TypeFlag != '5';
            return false;
        }

        if (name == ".wh.disk")
        {
            layerHidesBelow = true;
            return false;
        }

        if (!name.StartsWith(DiskFolder, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = name[DiskFolder.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            // Something deeper makes disk/CHILD a folder in this layer, hiding a lower file of that name.
            layerNames.Add(rest[..slash]);
            return false;
        }

        if (rest == ".wh..wh..opq")
        {
            layerHidesBelow = true;
            return false;
        }

        if (rest.StartsWith(".wh.", StringComparison.Ordinal))
        {
            layerNames.Add(rest[".wh.".Length..]);
            return false;
        }

        layerNames.Add(rest);
        if (hidden.Contains(rest) || entry.TypeFlag == '5')
        {
            return false;
        }

        var kind = entry.IsRegular ? string.Empty : entry.TypeFlag switch
        {
            '1' => ", a hard link",
            '2' => ", a symbolic link",
            _ => $", of tar type '{entry.TypeFlag}'",
        };
        visible.Add($"{TarDiskRules.Printable(name)} (layer {currentIndex + 1}{kind})");
        return entry.IsRegular;
    }

    /// <summary>Checks the current layer to its end and applies what it hides to the layers below.</summary>
    private void EndLayer()
    {
        current!.Finish();
        current.Dispose();
        current = null;
        hidden.UnionWith(layerNames);
        layerNames = new HashSet<string>(StringComparer.Ordinal);
        lowerHidden |= layerHidesBelow;
        layerHidesBelow = false;
    }

    /// <summary>One layer blob read forward: checked, decompressed as its magic says, and read as tar.</summary>
    private sealed class LayerReader : IDisposable
    {
        private readonly VerifiedBlobStream blob;
        private readonly Stream decoded;

        private LayerReader(VerifiedBlobStream blob, Stream decoded, string compression)
        {
            this.blob = blob;
            this.decoded = decoded;
            Compression = compression;
            Cursor = new ForwardTarCursor(decoded);
            Reader = new TarHeaderReader(Cursor);
        }

        public ForwardTarCursor Cursor { get; }

        public TarHeaderReader Reader { get; }

        /// <summary>"gzip (zlib 1.3)", "zstd (libzstd 1.5.4)", or "uncompressed".</summary>
        public string Compression { get; }

        public static async ValueTask<LayerReader> OpenAsync(IImageStore store, Descriptor layer, int index, int count, bool preferNative, bool sync, CancellationToken cancellationToken)
        {
            var what = $"layer {index + 1} of {count} ({layer.Digest})";
            if (!MediaTypes.IsLayer(layer.MediaType))
            {
                throw new ImageException(ImageErrors.RegistryUnsupportedMediaType,
                    $"The {what} is of media type '{layer.MediaType}', which is not a filesystem layer (tar, tar+gzip or tar+zstd){(layer.MediaType.Contains("encrypted", StringComparison.Ordinal) ? "; encrypted layers are not read" : string.Empty)}.");
            }

            var blob = new VerifiedBlobStream(await store.OpenBlobAsync(layer, sync, cancellationToken).ConfigureAwait(false), layer, what);
            try
            {
                var (input, head) = LayerInput.FromStream(blob).Peek(4);
                var stream = input.OpenStream();
                if (head is [0x1F, 0x8B, ..])
                {
                    return new LayerReader(blob, GzipLayer.Open(stream, preferNative), $"gzip ({GzipLayer.DecoderName(preferNative)})");
                }

                if (head is [0x28, 0xB5, 0x2F, 0xFD])
                {
                    return new LayerReader(blob, ZstdLayer.Open(stream, preferNative), $"zstd ({ZstdLayer.DecoderName(preferNative)})");
                }

                return new LayerReader(blob, stream, "uncompressed");
            }
            catch
            {
                blob.Dispose();
                throw;
            }
        }

        /// <summary>Reads past the end-of-archive blocks to the end of the decoded stream (the decoder checks itself), then the blob's own end (its digest).</summary>
        public void Finish()
        {
            Cursor.Drain();
            blob.VerifyToEnd();
        }

        public void Dispose()
        {
            decoded.Dispose();
            blob.Dispose();
        }
    }
}
