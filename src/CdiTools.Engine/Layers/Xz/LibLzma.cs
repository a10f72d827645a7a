using System.Runtime.InteropServices;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// The few entry points of the system's liblzma that the native decoder calls, bound at run time.
/// </summary>
/// <remarks>
/// The functions are bound through <see cref="NativeLibrary.TryGetExport"/> into unmanaged function
/// pointers rather than through <c>[DllImport]</c> with a resolver: the library has a different
/// file name on each platform, and an assembly can register only one DllImport resolver, which
/// this layer should not claim for the whole engine. Binding each export up front also answers
/// "does this liblzma have what we call" before anything is decoded.
/// </remarks>
internal static unsafe class LibLzma
{
    // lzma_ret, from lzma/base.h.
    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int NoCheck = 2;
    public const int UnsupportedCheck = 3;
    public const int GetCheck = 4;
    public const int MemError = 5;
    public const int MemlimitError = 6;
    public const int FormatError = 7;
    public const int OptionsError = 8;
    public const int DataError = 9;
    public const int BufError = 10;
    public const int ProgError = 11;

    // lzma_action.
    public const int Run = 0;
    public const int Finish = 3;

    // lzma_stream_decoder flags, from lzma/container.h.
    public const uint TellUnsupportedCheck = 0x02;
    public const uint Concatenated = 0x08;

    private static readonly string[] Candidates = OperatingSystem.IsWindows()
        ? ["liblzma.dll", "lzma.dll"]
        : OperatingSystem.IsMacOS()
            ? ["liblzma.5.dylib", "/opt/homebrew/lib/liblzma.5.dylib", "/usr/local/lib/liblzma.5.dylib"]
            : ["liblzma.so.5"];

    private static readonly delegate* unmanaged[Cdecl]<LzmaStream*, ulong, uint, int> StreamDecoderFn;
    private static readonly delegate* unmanaged[Cdecl]<LzmaStream*, LzmaMt*, int> StreamDecoderMtFn;
    private static readonly delegate* unmanaged[Cdecl]<LzmaStream*, int, int> CodeFn;
    private static readonly delegate* unmanaged[Cdecl]<LzmaStream*, void> EndFn;

    static LibLzma()
    {
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var library))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(library, "lzma_stream_decoder", out var streamDecoder)
                && NativeLibrary.TryGetExport(library, "lzma_code", out var code)
                && NativeLibrary.TryGetExport(library, "lzma_end", out var end)
                && NativeLibrary.TryGetExport(library, "lzma_version_string", out var version))
            {
                StreamDecoderFn = (delegate* unmanaged[Cdecl]<LzmaStream*, ulong, uint, int>)streamDecoder;

                // Threaded decoding of multi-block files arrived in liblzma 5.4; older ones decode on one thread.
                if (NativeLibrary.TryGetExport(library, "lzma_stream_decoder_mt", out var threaded))
                {
                    StreamDecoderMtFn = (delegate* unmanaged[Cdecl]<LzmaStream*, LzmaMt*, int>)threaded;
                }

                CodeFn = (delegate* unmanaged[Cdecl]<LzmaStream*, int, int>)code;
                EndFn = (delegate* unmanaged[Cdecl]<LzmaStream*, void>)end;
                var versionFn = (delegate* unmanaged[Cdecl]<byte*>)version;
                Version = Marshal.PtrToStringUTF8((nint)versionFn()) ?? "unknown";
                IsAvailable = true;
                return;
            }

            // A library by that name without the exports is not one we can use; keep looking.
            NativeLibrary.Free(library);
        }
    }

    public static bool IsAvailable { get; }

    /// <summary>What lzma_version_string says, such as <c>5.4.1</c>.</summary>
    public static string Version { get; } = "";

    public static int StreamDecoder(LzmaStream* strm, ulong memlimit, uint flags) => StreamDecoderFn(strm, memlimit, flags);

    public static bool HasThreadedDecoder => StreamDecoderMtFn != null;

    public static int StreamDecoderMt(LzmaStream* strm, LzmaMt* options) => StreamDecoderMtFn(strm, options);

    public static int Code(LzmaStream* strm, int action) => CodeFn(strm, action);

    public static void End(LzmaStream* strm) => EndFn(strm);
}

/// <summary>lzma_mt exactly as lzma/container.h (5.4) declares it: 128 bytes on 64-bit.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LzmaMt
{
    public uint Flags;
    public uint Threads;
    public ulong BlockSize;
    public uint Timeout;
    public uint Preset;
    public nint Filters;
    public int Check;
    public int ReservedEnum1;
    public int ReservedEnum2;
    public int ReservedEnum3;
    public uint ReservedInt1;
    public uint ReservedInt2;
    public uint ReservedInt3;
    public uint ReservedInt4;
    public ulong MemlimitThreading;
    public ulong MemlimitStop;
    public ulong ReservedInt7;
    public ulong ReservedInt8;
    public nint ReservedPtr1;
    public nint ReservedPtr2;
    public nint ReservedPtr3;
    public nint ReservedPtr4;
}

/// <summary>
/// lzma_stream exactly as lzma/base.h declares it. size_t and pointers are native-sized, so the
/// layout is right on 64-bit (136 bytes) and 32-bit alike; all zeros is LZMA_STREAM_INIT.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LzmaStream
{
    public byte* NextIn;
    public nuint AvailIn;
    public ulong TotalIn;
    public byte* NextOut;
    public nuint AvailOut;
    public ulong TotalOut;
    public nint Allocator;
    public nint Internal;
    public nint ReservedPtr1;
    public nint ReservedPtr2;
    public nint ReservedPtr3;
    public nint ReservedPtr4;
    public ulong SeekPos;
    public ulong ReservedInt2;
    public nuint ReservedInt3;
    public nuint ReservedInt4;
    public int ReservedEnum1;
    public int ReservedEnum2;
}
