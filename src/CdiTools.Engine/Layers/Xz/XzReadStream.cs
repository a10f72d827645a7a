using System.Runtime.ExceptionServices;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// What the native and managed xz decoders share: a forward-only, read-only stream that stays
/// failed once decoding fails and returns 0 for ever once the input has ended cleanly.
/// </summary>
internal abstract class XzReadStream : ForwardReadStream
{
    private readonly Stream compressed;
    private ExceptionDispatchInfo? fault;
    private bool ended;
    private bool disposed;
    private long produced;

    protected XzReadStream(Stream compressed)
    {
        this.compressed = compressed;
    }

    protected Stream Compressed => compressed;

    public override bool CanRead => !disposed;

    /// <summary>How many decompressed bytes have been read so far.</summary>
    public override long Position
    {
        get => produced;
        set => throw new NotSupportedException("An xz layer is forward-only.");
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(disposed, this);

        // The decoders' state is undefined after an error, so every later call repeats the first error.
        fault?.Throw();
        if (buffer.IsEmpty || ended)
        {
            return 0;
        }

        int read;
        try
        {
            read = ReadCore(buffer, out ended);
        }
        catch (Exception ex)
        {
            fault = ExceptionDispatchInfo.Capture(ex);
            throw;
        }

        produced += read;
        return read;
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <summary>
    /// Decodes into <paramref name="destination"/> (never empty); returns 0 only together with
    /// <paramref name="end"/> set, once every stream in the input has been decoded and verified.
    /// </summary>
    protected abstract int ReadCore(Span<byte> destination, out bool end);

    /// <summary>Releases the decoder's own resources; the compressed stream is disposed after it.</summary>
    protected abstract void ReleaseDecoder();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;
            try
            {
                ReleaseDecoder();
            }
            finally
            {
                compressed.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
