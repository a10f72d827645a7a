using System.IO.Compression;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// Inflates one compressed grain. qemu reads grains with zlib's uncompress() (block/vmdk.c,
/// vmdk_read_extent): a zlib stream, with its header and Adler-32, that must end within the
/// marker's size and give at most one grain; the disk may use less than a whole grain only at
/// its end. One instance per thread, reset for each grain.
/// </summary>
internal abstract class VmdkGrainInflater : IDisposable
{
    public static VmdkGrainInflater Create(bool preferNative) =>
        preferNative && Native.Zlib.IsAvailable ? new NativeInflater() : new ManagedInflater();

    /// <summary>Inflates <paramref name="input"/> into <paramref name="grain"/> (a whole grain's room);
    /// returns the bytes produced, at least <paramref name="needed"/>, or throws VmdkCompressedGrainCorrupt.</summary>
    public int Inflate(ReadOnlySpan<byte> input, Span<byte> grain, int needed, long hostOffset)
    {
        var produced = InflateCore(input, grain, hostOffset);
        if (produced < needed)
        {
            throw Corrupt(hostOffset, $"it gives {produced} bytes where the disk needs {needed}");
        }

        return produced;
    }

    public virtual void Dispose()
    {
    }

    protected abstract int InflateCore(ReadOnlySpan<byte> input, Span<byte> grain, long hostOffset);

    protected static ImageException Corrupt(long hostOffset, string detail, Exception? inner = null) =>
        new(ImageErrors.VmdkCompressedGrainCorrupt, $"The compressed grain at 0x{hostOffset:X} does not inflate: {detail}.", hostOffset, inner);

    private sealed class NativeInflater : VmdkGrainInflater
    {
        private readonly Native.ZlibInflater inflater = new(15);

        protected override int InflateCore(ReadOnlySpan<byte> input, Span<byte> grain, long hostOffset)
        {
            inflater.Reset();
            var status = inflater.Inflate(input, grain, out _, out var produced);
            if (status == Native.Zlib.StreamEnd)
            {
                return produced;
            }

            var detail = inflater.Message ?? (status is Native.Zlib.Ok or Native.Zlib.BufferError
                ? produced == grain.Length ? "it is larger than a grain" : "the stream ends early"
                : $"zlib status {status}");
            throw Corrupt(hostOffset, detail);
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

    private sealed class ManagedInflater : VmdkGrainInflater
    {
        protected override unsafe int InflateCore(ReadOnlySpan<byte> input, Span<byte> grain, long hostOffset)
        {
            try
            {
                fixed (byte* pointer = input)
                {
                    using var source = new UnmanagedMemoryStream(pointer, input.Length);
                    using var zlib = new ZLibStream(source, CompressionMode.Decompress);
                    var total = zlib.ReadAtLeast(grain, grain.Length, throwOnEndOfStream: false);
                    Span<byte> probe = stackalloc byte[1];
                    if (total == grain.Length && zlib.Read(probe) != 0)
                    {
                        throw Corrupt(hostOffset, "it is larger than a grain");
                    }

                    return total;
                }
            }
            catch (InvalidDataException e)
            {
                throw Corrupt(hostOffset, e.Message, e);
            }
        }
    }
}
