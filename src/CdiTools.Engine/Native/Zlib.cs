using System.Runtime.InteropServices;

namespace CdiTools.Engine.Native;

/// <summary>
/// The system's zlib (libz.so.1, libz.1.dylib, zlib1.dll), called directly: unlike
/// System.IO.Compression's streams it says when a gzip member ends (so a truncated .gz is an
/// error, not a short disk) and it can reset one inflater for each compressed qcow2 cluster
/// instead of building a new decoder per cluster. Where it does not load, callers fall back to
/// System.IO.Compression.
/// </summary>
internal static unsafe class Zlib
{
    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int NeedDictionary = 2;
    public const int DataError = -3;
    public const int MemoryError = -4;
    public const int BufferError = -5;
    public const int NoFlush = 0;

    private static readonly Api? Functions = Load();

    public static bool IsAvailable => Functions is not null;

    public static string? Version => Functions is { } api ? Marshal.PtrToStringAnsi((nint)api.ZlibVersion()) : null;

    internal static Api RequiredApi => Functions ?? throw new InvalidOperationException("zlib is not available.");

    private static Api? Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["zlib1.dll", "zlib.dll"]
            : OperatingSystem.IsMacOS() ? ["libz.1.dylib", "libz.dylib"]
            : ["libz.so.1", "libz.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(Zlib).Assembly, null, out var handle))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "inflateInit2_", out var init)
                && NativeLibrary.TryGetExport(handle, "inflate", out var inflate)
                && NativeLibrary.TryGetExport(handle, "inflateEnd", out var end)
                && NativeLibrary.TryGetExport(handle, "inflateReset", out var reset)
                && NativeLibrary.TryGetExport(handle, "zlibVersion", out var version))
            {
                // inflateValidate (zlib 1.2.9+) lets the caller compute the check faster than zlib does.
                NativeLibrary.TryGetExport(handle, "inflateValidate", out var validate);
                return new Api(
                    (delegate* unmanaged[Cdecl]<ZStream*, int, byte*, int, int>)init,
                    (delegate* unmanaged[Cdecl]<ZStream*, int, int>)inflate,
                    (delegate* unmanaged[Cdecl]<ZStream*, int>)end,
                    (delegate* unmanaged[Cdecl]<ZStream*, int>)reset,
                    (delegate* unmanaged[Cdecl]<byte*>)version,
                    (delegate* unmanaged[Cdecl]<ZStream*, int, int>)validate);
            }

            NativeLibrary.Free(handle);
        }

        return null;
    }

    internal sealed class Api(
        delegate* unmanaged[Cdecl]<ZStream*, int, byte*, int, int> inflateInit2,
        delegate* unmanaged[Cdecl]<ZStream*, int, int> inflate,
        delegate* unmanaged[Cdecl]<ZStream*, int> inflateEnd,
        delegate* unmanaged[Cdecl]<ZStream*, int> inflateReset,
        delegate* unmanaged[Cdecl]<byte*> zlibVersion,
        delegate* unmanaged[Cdecl]<ZStream*, int, int> inflateValidate)
    {
        /// <summary>Null in a zlib older than 1.2.9.</summary>
        public delegate* unmanaged[Cdecl]<ZStream*, int, int> InflateValidate { get; } = inflateValidate;

        public delegate* unmanaged[Cdecl]<ZStream*, int, byte*, int, int> InflateInit2 { get; } = inflateInit2;

        public delegate* unmanaged[Cdecl]<ZStream*, int, int> Inflate { get; } = inflate;

        public delegate* unmanaged[Cdecl]<ZStream*, int> InflateEnd { get; } = inflateEnd;

        public delegate* unmanaged[Cdecl]<ZStream*, int> InflateReset { get; } = inflateReset;

        public delegate* unmanaged[Cdecl]<byte*> ZlibVersion { get; } = zlibVersion;
    }

    /// <summary>zlib's z_stream; uLong is CULong so the layout holds on LP64 and on Windows' LLP64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public CULong TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public CULong TotalOut;
        public byte* Message;
        public void* State;
        public void* Alloc;
        public void* Free;
        public void* Opaque;
        public int DataType;
        public CULong Adler;
        public CULong Reserved;
    }
}

/// <summary>
/// One zlib inflater, reset and reused. The z_stream lives in native memory because zlib keeps a
/// pointer back to it and checks it on every call.
/// </summary>
internal sealed unsafe class ZlibInflater : IDisposable
{
    private readonly Zlib.ZStream* stream;
    private readonly Zlib.Api api = Zlib.RequiredApi;
    private bool disposed;

    /// <param name="windowBits">-8..-15 raw deflate; 16 + 8..15 gzip only.</param>
    public ZlibInflater(int windowBits)
    {
        stream = (Zlib.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(Zlib.ZStream));
        var version = api.ZlibVersion();
        var status = api.InflateInit2(stream, windowBits, version, sizeof(Zlib.ZStream));
        if (status != Zlib.Ok)
        {
            NativeMemory.Free(stream);
            throw new InvalidOperationException($"zlib's inflateInit2 failed with {status}.");
        }
    }

    /// <summary>zlib's message for the last error, if it gave one.</summary>
    public string? Message => stream->Message is null ? null : Marshal.PtrToStringAnsi((nint)stream->Message);

    public void Reset() => api.InflateReset(stream);

    /// <summary>
    /// Stops zlib computing and checking the gzip CRC-32 (inflateValidate(0)); it stays off across
    /// resets. False where this zlib cannot, and the check stays zlib's.
    /// </summary>
    public bool DisableCheck() => api.InflateValidate != null && api.InflateValidate(stream, 0) == Zlib.Ok;

    /// <summary>Runs inflate once over the spans; returns zlib's status and how much it consumed and produced.</summary>
    public int Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        fixed (byte* inputPointer = input)
        fixed (byte* outputPointer = output)
        {
            stream->NextIn = inputPointer;
            stream->AvailIn = (uint)input.Length;
            stream->NextOut = outputPointer;
            stream->AvailOut = (uint)output.Length;
            var status = api.Inflate(stream, Zlib.NoFlush);
            consumed = input.Length - (int)stream->AvailIn;
            produced = output.Length - (int)stream->AvailOut;
            stream->NextIn = null;
            stream->NextOut = null;
            return status;
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        api.InflateEnd(stream);
        NativeMemory.Free(stream);
    }
}
