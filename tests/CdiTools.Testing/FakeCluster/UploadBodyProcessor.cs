using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CdiTools.Engine;
using CdiTools.Engine.Layers.Gzip;
using CdiTools.Engine.Layers.Xz;
using CdiTools.Engine.Layers.Zstd;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Testing.Images;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// What CDI's upload server does with a body (pkg/uploadserver, pkg/importer upload-datasource.go,
/// format-readers.go, data-processor.go): peel the compression CDI recognises, write raw data
/// straight to the volume or convert the formats qemu-img converts, check the disk fits, and fail
/// with the data processor's messages. The conversion is the engine's (qemu-img's for vmdk, vdi,
/// vhd and vhdx), and the volume is a sparse file.
/// </summary>
internal static class UploadBodyProcessor
{
    /// <summary>What one header read covers (image.MaxExpectedHdrSize); shorter bodies fail to be recognised.</summary>
    private const int HeaderLength = 512;

    private const string SavingFailed = "Saving stream failed: ";
    private const string NoCapacity = "effective image size is larger than the reported available storage: ";
    private const string BlockDevice = "/dev/cdi-block-volume";

    /// <summary>CDI's known headers (pkg/image/filefmt.go): name, magic offset and magic bytes.</summary>
    private static readonly (string Name, int Offset, byte[] Magic)[] KnownHeaders =
    [
        ("gz", 0, [0x1F, 0x8B]),
        ("zst", 0, [0x28, 0xB5, 0x2F, 0xFD]),
        ("qcow2", 0, [(byte)'Q', (byte)'F', (byte)'I', 0xFB]),
        ("tar", 0x101, "ustar"u8.ToArray()),
        ("xz", 0, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]),
        ("vmdk", 0, "KDMV"u8.ToArray()),
        ("vdi", 0x40, [0x7F, 0x10, 0xDA, 0xBE]),
        ("vhd", 0, "conectix"u8.ToArray()),
        ("vhdx", 0, "vhdxfile"u8.ToArray()),
    ];

    /// <summary>Reads <paramref name="body"/> to its end the way the upload server would; throws <see cref="UploadRejection"/> with CDI's answer when it would fail.</summary>
    public static void Process(Stream body, UploadJob job, UploadFacts facts, CancellationToken cancellationToken)
    {
        var (stream, convert) = PeelLayers(body, facts);
        using var guard = new GuardStream(stream);
        if (job.Archive)
        {
            StoreArchive(guard, job, facts);
        }
        else if (convert)
        {
            if (facts.Format == "qcow2")
            {
                ConvertQcow2(guard, job, facts, cancellationToken);
            }
            else
            {
                ConvertWithQemu(guard, job, facts);
            }
        }
        else
        {
            StoreRaw(guard, job, facts);
        }
    }

    /// <summary>
    /// NewFormatReaders: reads 512 bytes, matches them against the known headers (each at most
    /// once), stacks a decompressor for gz, zst and xz and reads again, and stops at qcow2 or when
    /// nothing matches. tar is recognised but peeled by nothing, so a tar uploads as raw.
    /// </summary>
    private static (Stream Stream, bool Convert) PeelLayers(Stream body, UploadFacts facts)
    {
        var current = body;
        try
        {
            return Peel(ref current, facts);
        }
        catch
        {
            // Frees the decoders stacked so far; the request body under them stays open.
            current.Dispose();
            throw;
        }
    }

    private static (Stream Stream, bool Convert) Peel(ref Stream current, UploadFacts facts)
    {
        var known = KnownHeaders.ToList();
        facts.Format = "raw";
        while (true)
        {
            var head = new byte[HeaderLength];
            int got;
            try
            {
                got = ReadFull(current, head);
            }
            catch (Exception e) when (IsDataError(e))
            {
                throw Info(e.Message);
            }

            if (got < HeaderLength)
            {
                // io.ReadFull: nothing at all is EOF, a short read is ErrUnexpectedEOF.
                throw Info(got == 0 ? "EOF" : "unexpected EOF");
            }

            current = new HeadStream(head, current);
            var match = known.FirstOrDefault(k => head.AsSpan(k.Offset, k.Magic.Length).SequenceEqual(k.Magic));
            if (match.Name is null)
            {
                return (current, false);
            }

            known.Remove(match);
            facts.Layers.Add(match.Name);
            switch (match.Name)
            {
                case "gz":
                    current = GzipLayer.Open(current);
                    break;
                case "zst":
                    current = ZstdLayer.Open(current);
                    break;
                case "xz":
                    current = XzLayer.Open(current, preferNative: true, out _);
                    break;
                case "tar":
                    break;
                default:
                    facts.Format = match.Name;
                    return (current, true);
            }
        }

        static UploadRejection Info(string inner) =>
            new(500, SavingFailed + "Unable to obtain information about data source: could not process image header: " + inner);
    }

    /// <summary>
    /// Raw data goes straight to the volume (TransferDataFile); the size is checked afterwards on
    /// a Filesystem volume (the resize phase, or ValidatePause when async), while a Block device
    /// refuses the first write past its end.
    /// </summary>
    private static void StoreRaw(GuardStream source, UploadJob job, UploadFacts facts)
    {
        var total = 0L;
        var tooLarge = false;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var sink = new SparseFileSink(job.StoredPath, overwrite: true))
        {
            var buffer = new byte[1 << 20];
            while (true)
            {
                var read = ReadFull(source, buffer, job, "target file");
                if (read == 0)
                {
                    break;
                }

                var chunk = buffer.AsSpan(0, read);
                if (job.Block && total + read > job.Available)
                {
                    facts.VirtualSize = total + read;
                    throw new UploadRejection(400, SavingFailed + NoCapacity
                        + $"Unable to transfer source data to target file: unable to write to file: write {BlockDevice}: no space left on device");
                }

                tooLarge |= total + read > job.Available;
                if (!tooLarge)
                {
                    WriteSparse(sink, total, chunk);
                    hash.AppendData(chunk);
                }

                total += read;
            }

            facts.VirtualSize = total;
            if (tooLarge)
            {
                throw new UploadRejection(400, SavingFailed + NoCapacity
                    + (job.Async ? "" : "Unable to resize disk image to requested size: ") + TooLarge(total, job.Available));
            }

            sink.Complete(total);
        }

        facts.Stored(job.StoredPath, Convert.ToHexStringLower(hash.GetHashAndReset()), total);
    }

    /// <summary>
    /// qcow2 goes to scratch space, is validated (its virtual size against the space) and
    /// converted. The engine reads it forward as it arrives; the rest of the body is still read
    /// to its end first, as the copy to scratch would.
    /// </summary>
    private static void ConvertQcow2(GuardStream source, UploadJob job, UploadFacts facts, CancellationToken cancellationToken)
    {
        try
        {
            using var image = ImageOpener.Open(LayerInput.FromStream(source), new ImageOpenOptions { ScratchDirectory = job.ScratchDirectory });
            var size = image.Details.VirtualSize ?? 0;
            facts.VirtualSize = size;
            if (size > job.Available)
            {
                Drain(source, job, "scratch space");
                throw TooLargeToConvert(size, job);
            }

            using var sink = new SparseFileSink(job.StoredPath, overwrite: true);
            var result = ImageConverter.Convert(image, sink, computeSha256: true, cancellationToken: cancellationToken);
            Drain(source, job, "scratch space");
            facts.Stored(job.StoredPath, result.Sha256!, result.VirtualSize);
        }
        catch (Exception e) when (e is not UploadRejection && source.Failure is not null && IsDataError(source.Failure))
        {
            throw Transfer(source.Failure, "scratch space");
        }
        catch (ImageException e) when (source.Failure is null)
        {
            throw Conversion(e.Message);
        }
    }

    /// <summary>The formats the fake has no reader for are converted as CDI converts them all: with qemu-img, from a scratch file.</summary>
    private static void ConvertWithQemu(GuardStream source, UploadJob job, UploadFacts facts)
    {
        var scratch = Path.Combine(job.ScratchDirectory, $".{Path.GetFileName(job.StoredPath)}.scratch");
        try
        {
            using (var file = new FileStream(scratch, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = ReadFull(source, buffer, job, "scratch space")) > 0)
                {
                    file.Write(buffer, 0, read);
                }
            }

            string info;
            try
            {
                info = ExternalTool.Run("qemu-img", "info", "--output=json", scratch);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                throw Conversion($"the fake upload server converts {facts.Format} with qemu-img, which failed or is not installed: {e.Message}");
            }

            var size = JsonNode.Parse(info)?["virtual-size"]?.GetValue<long>() ?? 0;
            facts.VirtualSize = size;
            if (size > job.Available)
            {
                throw TooLargeToConvert(size, job);
            }

            try
            {
                ExternalTool.Run("qemu-img", "convert", "-O", "raw", scratch, job.StoredPath);
            }
            catch (InvalidOperationException e)
            {
                throw Conversion(e.Message);
            }

            facts.Stored(job.StoredPath, DiskContent.Sha256(job.StoredPath), new FileInfo(job.StoredPath).Length);
        }
        finally
        {
            File.Delete(scratch);
        }
    }

    /// <summary>
    /// An archive is untarred onto the volume (TransferDataDir); the fake keeps the tar it would
    /// unpack, and checks that it unpacks.
    /// </summary>
    private static void StoreArchive(GuardStream source, UploadJob job, UploadFacts facts)
    {
        facts.Format = "tar";
        long total = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = new FileStream(job.StoredPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = ReadFull(source, buffer, job, "target directory")) > 0)
            {
                file.Write(buffer, 0, read);
                hash.AppendData(buffer, 0, read);
                total += read;
            }
        }

        try
        {
            using var file = File.OpenRead(job.StoredPath);
            using var tar = new TarReader(file);
            while (tar.GetNextEntry() is not null)
            {
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            File.Delete(job.StoredPath);
            throw new UploadRejection(500, SavingFailed + "Unable to transfer source data to target directory: unable to untar files from endpoint: " + e.Message);
        }

        facts.Stored(job.StoredPath, Convert.ToHexStringLower(hash.GetHashAndReset()), total);
    }

    private static string TooLarge(long virtualSize, long available) =>
        $"virtual image size {virtualSize} is larger than the reported available storage {available}. A larger PVC is required";

    /// <summary>The convert phase validates first; when async, ValidatePause does so before answering, unwrapped.</summary>
    private static UploadRejection TooLargeToConvert(long size, UploadJob job) =>
        new(400, SavingFailed + NoCapacity + (job.Async ? "" : "Unable to convert source data to target format: ") + TooLarge(size, job.Available));

    /// <summary>A conversion failure; the text after the phase's own words is the engine's or qemu-img's, not CDI's.</summary>
    private static UploadRejection Conversion(string inner) =>
        new(500, SavingFailed + "Unable to convert source data to target format: Conversion to Raw failed: " + inner);

    /// <summary>StreamDataToFile's failure to read its source: an ImagePullFailedError, wrapped by the phase.</summary>
    private static UploadRejection Transfer(Exception failure, string target) =>
        new(500, SavingFailed + $"Unable to transfer source data to {target}: failed to pull image: {failure.Message}");

    /// <summary>Errors of the data itself (a decoder's complaint) rather than of the connection or the fake.</summary>
    private static bool IsDataError(Exception e) => e is ImageException or InvalidDataException or IOException or FormatException;

    private static int ReadFull(Stream stream, byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = stream.Read(buffer, total, buffer.Length - total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Reads as the transfer phases do; a failure of the data becomes their error.</summary>
    private static int ReadFull(GuardStream stream, byte[] buffer, UploadJob job, string target)
    {
        try
        {
            return ReadFull(stream, buffer);
        }
        catch (Exception e) when (IsDataError(e) && !job.ConnectionLost())
        {
            throw Transfer(e, target);
        }
    }

    private static void Drain(GuardStream stream, UploadJob job, string target)
    {
        var buffer = new byte[1 << 20];
        while (ReadFull(stream, buffer, job, target) > 0)
        {
        }
    }

    /// <summary>Writes the non-zero 4 KiB blocks of <paramref name="chunk"/>; the sink leaves holes for the rest.</summary>
    private static void WriteSparse(SparseFileSink sink, long offset, ReadOnlySpan<byte> chunk)
    {
        const int Block = 4096;
        var start = -1;
        for (var at = 0; at < chunk.Length; at += Block)
        {
            var block = chunk.Slice(at, Math.Min(Block, chunk.Length - at));
            var zero = !block.ContainsAnyExcept((byte)0);
            if (!zero && start < 0)
            {
                start = at;
            }
            else if (zero && start >= 0)
            {
                sink.WriteData(offset + start, chunk[start..at]);
                start = -1;
            }
        }

        if (start >= 0)
        {
            sink.WriteData(offset + start, chunk[start..]);
        }
    }
}

/// <summary>One upload's setting: what the volume is and where its content goes.</summary>
internal sealed record UploadJob
{
    public required bool Archive { get; init; }

    public required bool Async { get; init; }

    /// <summary>Whether the PVC is a Block volume (the data goes to a device, not a file).</summary>
    public required bool Block { get; init; }

    /// <summary>The space the data processor computes for the volume.</summary>
    public required long Available { get; init; }

    public required string StoredPath { get; init; }

    public required string ScratchDirectory { get; init; }

    /// <summary>Whether the connection is gone (reset by a fault, or closed by the client): then nobody reads the answer.</summary>
    public required Func<bool> ConnectionLost { get; init; }
}

/// <summary>What is known of an upload as it goes, kept even when it fails.</summary>
internal sealed class UploadFacts
{
    public List<string> Layers { get; } = [];

    public string? Format { get; set; }

    public long? VirtualSize { get; set; }

    public string? StoredPath { get; private set; }

    public string? Sha256 { get; private set; }

    public long? StoredLength { get; private set; }

    public void Stored(string path, string sha256, long length)
    {
        StoredPath = path;
        Sha256 = sha256;
        StoredLength = length;
    }
}

/// <summary>The upload server's answer to a body it could not take: the status and CDI's text.</summary>
internal sealed class UploadRejection(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public override string ToString() => Status.ToString(CultureInfo.InvariantCulture) + " " + Message;
}

/// <summary>
/// The request body as the upload server reads it: counts the bytes, and plays the injected
/// faults (a slow volume; a connection reset after so many bytes).
/// </summary>
internal sealed class WireStream(Stream body, long? resetAfter, (TimeSpan Delay, int ChunkBytes)? slow, Action abort) : Stream
{
    private long bytesRead;
    private int reset;

    public long BytesRead => Interlocked.Read(ref bytesRead);

    public bool WasReset => Volatile.Read(ref reset) == 1;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var limit = Limit(buffer.Length);
        var read = body.Read(buffer[..limit]);
        Interlocked.Add(ref bytesRead, read);
        if (slow is { } s && read > 0)
        {
            Thread.Sleep(s.Delay);
        }

        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var limit = Limit(buffer.Length);
        var read = await body.ReadAsync(buffer[..limit], cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref bytesRead, read);
        if (slow is { } s && read > 0)
        {
            await Task.Delay(s.Delay, cancellationToken).ConfigureAwait(false);
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>How much the next read may take; at the reset point the connection goes.</summary>
    private int Limit(int wanted)
    {
        var limit = wanted;
        if (slow is { } s)
        {
            limit = Math.Min(limit, s.ChunkBytes);
        }

        if (resetAfter is { } at)
        {
            var left = at - BytesRead;
            if (left <= 0 && wanted > 0)
            {
                Volatile.Write(ref reset, 1);
                abort();
                throw new IOException($"The fake upload proxy reset the connection after {at} bytes of the body.");
            }

            limit = (int)Math.Min(limit, left);
        }

        return limit;
    }
}

/// <summary>Replays the header bytes already read, then the rest, as CDI's multi-reader does.</summary>
internal sealed class HeadStream(byte[] head, Stream rest) : Stream
{
    private int position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (position < head.Length)
        {
            var count = Math.Min(buffer.Length, head.Length - position);
            head.AsSpan(position, count).CopyTo(buffer);
            position += count;
            return count;
        }

        return rest.Read(buffer);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rest.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// The decoded data as the transfer reads it; remembers a failure of the data below it, so a
/// failure surfacing inside the converter is still reported as the transfer's.
/// </summary>
internal sealed class GuardStream(Stream inner) : Stream
{
    private bool disposed;

    public Exception? Failure { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e)
        {
            Failure ??= e;
            throw;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // Frees the decoders (native zlib, liblzma and libzstd state); the request body at the bottom
    // of the chain is left to the server, as WireStream does not close it.
    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
