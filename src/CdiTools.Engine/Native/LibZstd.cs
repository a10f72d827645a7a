using System.Runtime.InteropServices;

namespace CdiTools.Engine.Native;

/// <summary>
/// The system's libzstd (libzstd.so.1, a dependency of dpkg and apt on Debian), which decodes about
/// twice as fast as the managed port; ZstdSharp serves where it does not load.
/// </summary>
internal static unsafe class LibZstd
{
    /// <summary>ZSTD_d_windowLogMax: let frames use windows up to 2 GiB (zstd --long=31).</summary>
    public const int WindowLogMaxParameter = 100;
    public const int MaxWindowLog = 31;

    private static readonly Api? Functions = Load();

    public static bool IsAvailable => Functions is not null;

    public static string? Version => Functions is { } api ? Marshal.PtrToStringAnsi((nint)api.VersionString()) : null;

    internal static Api RequiredApi => Functions ?? throw new InvalidOperationException("libzstd is not available.");

    private static Api? Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["libzstd.dll", "zstd.dll"]
            : OperatingSystem.IsMacOS() ? ["libzstd.1.dylib", "libzstd.dylib"]
            : ["libzstd.so.1", "libzstd.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(LibZstd).Assembly, null, out var handle))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "ZSTD_createDCtx", out var create)
                && NativeLibrary.TryGetExport(handle, "ZSTD_freeDCtx", out var free)
                && NativeLibrary.TryGetExport(handle, "ZSTD_DCtx_reset", out var reset)
                && NativeLibrary.TryGetExport(handle, "ZSTD_DCtx_setParameter", out var setParameter)
                && NativeLibrary.TryGetExport(handle, "ZSTD_decompressStream", out var decompress)
                && NativeLibrary.TryGetExport(handle, "ZSTD_isError", out var isError)
                && NativeLibrary.TryGetExport(handle, "ZSTD_getErrorName", out var errorName)
                && NativeLibrary.TryGetExport(handle, "ZSTD_versionString", out var version))
            {
                return new Api
                {
                    CreateDCtx = (delegate* unmanaged[Cdecl]<nint>)create,
                    FreeDCtx = (delegate* unmanaged[Cdecl]<nint, nuint>)free,
                    Reset = (delegate* unmanaged[Cdecl]<nint, int, nuint>)reset,
                    SetParameter = (delegate* unmanaged[Cdecl]<nint, int, int, nuint>)setParameter,
                    DecompressStream = (delegate* unmanaged[Cdecl]<nint, OutBuffer*, InBuffer*, nuint>)decompress,
                    IsError = (delegate* unmanaged[Cdecl]<nuint, uint>)isError,
                    ErrorName = (delegate* unmanaged[Cdecl]<nuint, byte*>)errorName,
                    VersionString = (delegate* unmanaged[Cdecl]<byte*>)version,
                };
            }

            NativeLibrary.Free(handle);
        }

        return null;
    }

    internal sealed class Api
    {
        public required delegate* unmanaged[Cdecl]<nint> CreateDCtx { get; init; }

        public required delegate* unmanaged[Cdecl]<nint, nuint> FreeDCtx { get; init; }

        public required delegate* unmanaged[Cdecl]<nint, int, nuint> Reset { get; init; }

        public required delegate* unmanaged[Cdecl]<nint, int, int, nuint> SetParameter { get; init; }

        public required delegate* unmanaged[Cdecl]<nint, OutBuffer*, InBuffer*, nuint> DecompressStream { get; init; }

        public required delegate* unmanaged[Cdecl]<nuint, uint> IsError { get; init; }

        public required delegate* unmanaged[Cdecl]<nuint, byte*> ErrorName { get; init; }

        public required delegate* unmanaged[Cdecl]<byte*> VersionString { get; init; }
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct InBuffer
    {
        public byte* Source;
        public nuint Size;
        public nuint Position;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct OutBuffer
    {
        public byte* Destination;
        public nuint Size;
        public nuint Position;
    }
}

/// <summary>One libzstd decompression context, reset and reused; frames follow each other, skippable ones are skipped.</summary>
internal sealed unsafe class ZstdDecoder : IDisposable
{
    private readonly LibZstd.Api api = LibZstd.RequiredApi;
    private readonly nint context;
    private bool disposed;

    public ZstdDecoder()
    {
        context = api.CreateDCtx();
        if (context == 0)
        {
            throw new InsufficientMemoryException("libzstd could not create a decompression context.");
        }

        Check(api.SetParameter(context, LibZstd.WindowLogMaxParameter, LibZstd.MaxWindowLog));
    }

    /// <summary>Forgets any frame in progress (ZSTD_reset_session_only).</summary>
    public void Reset() => Check(api.Reset(context, 1));

    /// <summary>
    /// Decodes what it can; returns 0 when a frame has just ended and been flushed completely, else
    /// a positive hint. Throws <see cref="ZstdDecodeException"/> on corrupt input.
    /// </summary>
    public nuint Decompress(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        fixed (byte* inputPointer = input)
        fixed (byte* outputPointer = output)
        {
            var inBuffer = new LibZstd.InBuffer { Source = inputPointer, Size = (nuint)input.Length };
            var outBuffer = new LibZstd.OutBuffer { Destination = outputPointer, Size = (nuint)output.Length };
            var result = api.DecompressStream(context, &outBuffer, &inBuffer);
            consumed = (int)inBuffer.Position;
            produced = (int)outBuffer.Position;
            return Check(result);
        }
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            api.FreeDCtx(context);
        }
    }

    private nuint Check(nuint code) =>
        api.IsError(code) != 0 ? throw new ZstdDecodeException(Marshal.PtrToStringAnsi((nint)api.ErrorName(code)) ?? "unknown error") : code;
}

/// <summary>libzstd refused the input; the message is libzstd's error name.</summary>
internal sealed class ZstdDecodeException(string message) : Exception(message);
