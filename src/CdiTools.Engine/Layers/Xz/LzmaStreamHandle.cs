using System.Runtime.InteropServices;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// An lzma_stream in native memory together with the decoder state liblzma hangs off it.
/// </summary>
/// <remarks>
/// A SafeHandle because it guarantees <see cref="ReleaseHandle"/> runs once, whether through
/// Dispose, through the finalizer of an abandoned stream, or after a failed initialisation, and
/// never while a Read still holds a reference. The struct lives in native memory so the pointer
/// the handle wraps stays put for the handle's whole life.
/// </remarks>
internal sealed unsafe class LzmaStreamHandle : SafeHandle
{
    // What the threaded decoder may hold (blocks in flight, decoded blocks queued); past it
    // liblzma decodes fewer blocks at once, down to one thread, rather than use more. Two cores
    // keep busy on 16 MiB blocks well within it.
    private const ulong ThreadingMemoryBudget = 96UL << 20;

    private static int live;

    // As visible as the type, as the marshaller expects of a SafeHandle (CA1419); CreateDecoder is still the way to make one.
    public LzmaStreamHandle()
        : base(0, ownsHandle: true)
    {
    }

    /// <summary>How many handles are allocated and not yet released; lets tests prove lzma_end ran.</summary>
    internal static int Live => Volatile.Read(ref live);

    public override bool IsInvalid => handle == 0;

    public LzmaStream* Stream => (LzmaStream*)handle;

    /// <summary>Allocates the struct and runs lzma_stream_decoder; returns its lzma_ret.</summary>
    public static LzmaStreamHandle CreateDecoder(ulong memoryLimit, uint flags, out int ret)
    {
        var result = new LzmaStreamHandle();
        var memory = (LzmaStream*)NativeMemory.AllocZeroed((nuint)sizeof(LzmaStream));
        result.SetHandle((nint)memory);
        Interlocked.Increment(ref live);

        // lzma_end is safe on a stream whose init failed, so the handle owns the struct from here on.
        if (LibLzma.HasThreadedDecoder && Environment.ProcessorCount > 1)
        {
            // Files with several blocks (xz -T) decode on every core, about twice as fast on two;
            // past the threading budget liblzma decodes on one thread rather than use more memory.
            memory->Allocator = LzmaBlockAllocator.Allocator;
            var options = new LzmaMt
            {
                Flags = flags,
                Threads = (uint)Math.Min(Environment.ProcessorCount, 4),
                MemlimitThreading = ThreadingMemoryBudget,
                MemlimitStop = memoryLimit,
            };
            ret = LibLzma.StreamDecoderMt(memory, &options);
        }
        else
        {
            ret = LibLzma.StreamDecoder(memory, memoryLimit, flags);
        }

        return result;
    }

    protected override bool ReleaseHandle()
    {
        var strm = (LzmaStream*)handle;
        LibLzma.End(strm);
        NativeMemory.Free(strm);
        Interlocked.Decrement(ref live);
        return true;
    }
}
