using System.Buffers;
using System.IO.Compression;
using ZstdSharp;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// Inflates one compressed qcow2 cluster into exactly one cluster of output. The input is an
/// upper bound (csize) and may run into the next cluster's bytes or end short at the end of the
/// file; decoding stops once the cluster is full, as qemu's does. One instance per thread.
/// </summary>
internal abstract class Qcow2Decompressor : IDisposable
{
    public static Qcow2Decompressor Create(int compressionType, bool preferNative) => compressionType == 1
        ? preferNative && Native.LibZstd.IsAvailable ? new NativeZstdClusterDecompressor() : new ZstdClusterDecompressor()
        : !preferNative ? new DeflateClusterDecompressor()
        : Native.LibDeflate.IsAvailable && Native.Zlib.IsAvailable ? new LibDeflateClusterDecompressor()
        : Native.Zlib.IsAvailable ? new ZlibClusterDecompressor() : new DeflateClusterDecompressor();

    /// <summary>Fills <paramref name="output"/> (one cluster) from <paramref name="input"/>; throws Qcow2CompressedClusterCorrupt otherwise.</summary>
    public abstract void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset);

    public virtual void Dispose()
    {
    }

    protected static ImageException Corrupt(long hostOffset, string detail, Exception? inner = null) =>
        new(ImageErrors.Qcow2CompressedClusterCorrupt, $"The compressed cluster at 0x{hostOffset:X} does not decompress to a full cluster: {detail}.", hostOffset, inner);

    // qemu inflates raw deflate with a 4 KiB window (inflateInit2(-12), qcow2-threads.c) and
    // accepts Z_BUF_ERROR once the cluster is full; so does this, with one inflater reset per cluster.
    private sealed class ZlibClusterDecompressor : Qcow2Decompressor
    {
        private readonly Native.ZlibInflater inflater = new(-12);

        public override void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset)
        {
            inflater.Reset();
            var status = inflater.Inflate(input.AsSpan(inputOffset, inputLength), output, out _, out var produced);
            if (produced != output.Length || status is not (Native.Zlib.Ok or Native.Zlib.StreamEnd or Native.Zlib.BufferError))
            {
                throw Corrupt(hostOffset, inflater.Message ?? $"{produced} of {output.Length} bytes, zlib status {status}");
            }
        }

        public override void Dispose()
        {
            try
            {
                inflater.Dispose();
            }
            finally
            {
                base.Dispose();
            }
        }
    }

    // libdeflate inflates a cluster about twice as fast as zlib. A cluster is decoded in one call
    // into one buffer, so zlib's 4 KiB window never limits how far back a stream reaches, and
    // both take the same streams; a cluster libdeflate does not fill exactly with a stream that
    // ends goes to zlib, which decides as qemu does.
    private sealed class LibDeflateClusterDecompressor : Qcow2Decompressor
    {
        private readonly Native.LibDeflateDecompressor decompressor = new();
        private readonly ZlibClusterDecompressor zlib = new();

        public override void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset)
        {
            if (!decompressor.TryInflateExactly(input.AsSpan(inputOffset, inputLength), output))
            {
                zlib.Decompress(input, inputOffset, inputLength, output, hostOffset);
            }
        }

        public override void Dispose()
        {
            try
            {
                decompressor.Dispose();
                zlib.Dispose();
            }
            finally
            {
                base.Dispose();
            }
        }
    }

    // Where the system's zlib is missing: a 32 KiB-window decoder reads qemu's 4 KiB-window streams too.
    private sealed class DeflateClusterDecompressor : Qcow2Decompressor
    {
        public override void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset)
        {
            try
            {
                using var source = new MemoryStream(input, inputOffset, inputLength, writable: false);
                using var inflater = new DeflateStream(source, CompressionMode.Decompress);
                var total = 0;
                while (total < output.Length)
                {
                    var read = inflater.Read(output[total..]);
                    if (read == 0)
                    {
                        throw Corrupt(hostOffset, $"only {total} of {output.Length} bytes");
                    }

                    total += read;
                }
            }
            catch (InvalidDataException e)
            {
                throw Corrupt(hostOffset, e.Message, e);
            }
        }
    }

    // qemu decodes with ZSTD_decompressStream until the cluster is full (qcow2-threads.c); the
    // input may hold several frames.
    private sealed class NativeZstdClusterDecompressor : Qcow2Decompressor
    {
        private readonly Native.ZstdDecoder decoder = new();

        public override void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset)
        {
            decoder.Reset();
            var source = input.AsSpan(inputOffset, inputLength);
            var total = 0;
            try
            {
                while (total < output.Length)
                {
                    decoder.Decompress(source, output[total..], out var consumed, out var produced);
                    source = source[consumed..];
                    total += produced;
                    if (consumed == 0 && produced == 0)
                    {
                        throw Corrupt(hostOffset, $"only {total} of {output.Length} bytes");
                    }
                }
            }
            catch (Native.ZstdDecodeException e)
            {
                throw Corrupt(hostOffset, e.Message, e);
            }
        }

        public override void Dispose()
        {
            try
            {
                decoder.Dispose();
            }
            finally
            {
                base.Dispose();
            }
        }
    }

    private sealed class ZstdClusterDecompressor : Qcow2Decompressor
    {
        private readonly Decompressor decompressor = new();

        public override void Decompress(byte[] input, int inputOffset, int inputLength, Span<byte> output, long hostOffset)
        {
            decompressor.ResetStream();
            ReadOnlySpan<byte> source = input.AsSpan(inputOffset, inputLength);
            var total = 0;
            try
            {
                // The input may hold several frames; keep going until the cluster is full.
                while (total < output.Length)
                {
                    var status = decompressor.UnwrapStream(source, output[total..], out var consumed, out var written);
                    source = source[consumed..];
                    total += written;
                    if (consumed == 0 && written == 0)
                    {
                        throw Corrupt(hostOffset, $"only {total} of {output.Length} bytes ({status})");
                    }
                }
            }
            catch (ZstdException e)
            {
                throw Corrupt(hostOffset, e.Message, e);
            }
        }

        public override void Dispose()
        {
            try
            {
                decompressor.Dispose();
            }
            finally
            {
                base.Dispose();
            }
        }
    }
}
