using System.Runtime.InteropServices;

namespace CdiTools.Engine.Native;

/// <summary>
/// The system's libdeflate (libdeflate.so.0 on Debian and Ubuntu), which inflates a whole buffer
/// about twice as fast as zlib: qcow2's compressed clusters are whole buffers. It does not stream,
/// so zlib stays for gzip layers, and for every cluster libdeflate does not decode to the end
/// (zlib then decides, as qemu's zlib does).
/// </summary>
internal static unsafe class LibDeflate
{
    public const int Success = 0;

    private static readonly Api? Functions = Load();

    public static bool IsAvailable => Functions is not null;

    internal static Api RequiredApi => Functions ?? throw new InvalidOperationException("libdeflate is not available.");

    private static Api? Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["libdeflate.dll", "deflate.dll"]
            : OperatingSystem.IsMacOS() ? ["libdeflate.0.dylib", "libdeflate.dylib"]
            : ["libdeflate.so.0", "libdeflate.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(LibDeflate).Assembly, null, out var handle))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "libdeflate_alloc_decompressor", out var alloc)
                && NativeLibrary.TryGetExport(handle, "libdeflate_free_decompressor", out var free)
                && NativeLibrary.TryGetExport(handle, "libdeflate_deflate_decompress_ex", out var decompress))
            {
                return new Api
                {
                    AllocDecompressor = (delegate* unmanaged[Cdecl]<nint>)alloc,
                    FreeDecompressor = (delegate* unmanaged[Cdecl]<nint, void>)free,
                    DeflateDecompressEx = (delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, nuint*, nuint*, int>)decompress,
                };
            }

            NativeLibrary.Free(handle);
        }

        return null;
    }

    internal sealed class Api
    {
        public required delegate* unmanaged[Cdecl]<nint> AllocDecompressor { get; init; }

        public required delegate* unmanaged[Cdecl]<nint, void> FreeDecompressor { get; init; }

        /// <summary>libdeflate_deflate_decompress_ex: raw deflate, trailing input allowed, output may end short.</summary>
        public required delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, nuint*, nuint*, int> DeflateDecompressEx { get; init; }
    }
}

/// <summary>One libdeflate decompressor (not thread-safe: one per thread), freed once.</summary>
internal sealed unsafe class LibDeflateDecompressor : SafeHandle
{
    public LibDeflateDecompressor()
        : base(0, ownsHandle: true)
    {
        var handle = LibDeflate.RequiredApi.AllocDecompressor();
        if (handle == 0)
        {
            throw new InsufficientMemoryException("libdeflate could not allocate a decompressor.");
        }

        SetHandle(handle);
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>
    /// Inflates the raw deflate stream at the start of <paramref name="input"/> into
    /// <paramref name="output"/>; true only when the stream ended having filled it exactly.
    /// </summary>
    public bool TryInflateExactly(ReadOnlySpan<byte> input, Span<byte> output)
    {
        nuint consumed;
        nuint produced;
        int result;
        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            result = LibDeflate.RequiredApi.DeflateDecompressEx(handle, source, (nuint)input.Length, destination, (nuint)output.Length, &consumed, &produced);
        }

        return result == LibDeflate.Success && produced == (nuint)output.Length;
    }

    protected override bool ReleaseHandle()
    {
        LibDeflate.RequiredApi.FreeDecompressor(handle);
        return true;
    }
}
