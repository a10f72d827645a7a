using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CdiTools.Engine.Native;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// An lzma_allocator for the threaded xz decoder that maps buffers of 1 MiB and more straight from
/// the kernel and unmaps them when liblzma frees them. Through malloc, the block-sized buffers its
/// worker threads allocate and free stay in those threads' glibc heaps once freed (glibc raises its
/// mmap threshold after the first such free), which took a multi-block decode from about 150 MiB to
/// over 300 MiB of resident memory. Smaller allocations still go through malloc.
/// </summary>
internal static unsafe class LzmaBlockAllocator
{
    private const nuint MappedThreshold = 1 << 20;
    private const nuint HeaderSize = 16;
    private const int ProtectReadWrite = 0x1 | 0x2;
    private const int MapPrivateAnonymous = 0x02 | 0x20;
    private const ulong MappedTag = 0x4D41505045444C5A; // marks a mapped block in its header
    private const ulong HeapTag = 0x484541504C5A4D41;

    private static readonly Api? Functions = Load();

    private static long mapped;
    private static int liveMappings;

    /// <summary>The lzma_allocator to set on a stream; null where mmap is not at hand (liblzma then uses malloc).</summary>
    public static nint Allocator { get; } = Functions is null ? 0 : Create();

    /// <summary>How many buffers have been mapped so far; lets tests see that liblzma allocates through this.</summary>
    internal static long Mapped => Interlocked.Read(ref mapped);

    /// <summary>How many mapped buffers are not yet unmapped; lets tests prove liblzma's frees unmap them.</summary>
    internal static int LiveMappings => Volatile.Read(ref liveMappings);

    private static nint Create()
    {
        var allocator = (nint*)NativeMemory.Alloc((nuint)(3 * sizeof(nint)));
        allocator[0] = (nint)(delegate* unmanaged[Cdecl]<nint, nuint, nuint, void*>)&Allocate;
        allocator[1] = (nint)(delegate* unmanaged[Cdecl]<nint, void*, void>)&Free;
        allocator[2] = 0;
        return (nint)allocator;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void* Allocate(nint opaque, nuint count, nuint size)
    {
        var bytes = count * size;
        if (size != 0 && bytes / size != count)
        {
            return null;
        }

        byte* block;
        ulong tag;
        if (bytes >= MappedThreshold)
        {
            block = (byte*)Functions!.Map(null, bytes + HeaderSize, ProtectReadWrite, MapPrivateAnonymous, -1, 0);
            if (block == (byte*)-1)
            {
                return null;
            }

            Interlocked.Increment(ref mapped);
            Interlocked.Increment(ref liveMappings);
            tag = MappedTag;
        }
        else
        {
            block = (byte*)NativeMemory.Alloc(bytes + HeaderSize);
            tag = HeapTag;
        }

        ((ulong*)block)[0] = tag;
        ((ulong*)block)[1] = bytes;
        return block + HeaderSize;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Free(nint opaque, void* pointer)
    {
        if (pointer is null)
        {
            return;
        }

        var block = (byte*)pointer - HeaderSize;
        if (((ulong*)block)[0] == MappedTag)
        {
            if (Functions!.Unmap(block, (nuint)((ulong*)block)[1] + HeaderSize) == 0)
            {
                Interlocked.Decrement(ref liveMappings);
            }
        }
        else
        {
            NativeMemory.Free(block);
        }
    }

    private static Api? Load() =>
        Posix.TryLoadLibrary(out var handle)
            && NativeLibrary.TryGetExport(handle, "mmap", out var map)
            && NativeLibrary.TryGetExport(handle, "munmap", out var unmap)
            ? new Api(
                (delegate* unmanaged[Cdecl]<void*, nuint, int, int, int, long, void*>)map,
                (delegate* unmanaged[Cdecl]<void*, nuint, int>)unmap)
            : null;

    private sealed class Api(delegate* unmanaged[Cdecl]<void*, nuint, int, int, int, long, void*> map, delegate* unmanaged[Cdecl]<void*, nuint, int> unmap)
    {
        public delegate* unmanaged[Cdecl]<void*, nuint, int, int, int, long, void*> Map { get; } = map;

        public delegate* unmanaged[Cdecl]<void*, nuint, int> Unmap { get; } = unmap;
    }
}
