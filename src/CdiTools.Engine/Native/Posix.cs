using System.Runtime.InteropServices;
using System.Text;

namespace CdiTools.Engine.Native;

/// <summary>
/// The few C library calls .NET does not expose: the type of a file before it is opened (a FIFO
/// would block the open, a device node would be read as if it were a disk), fsync on a folder,
/// which makes a rename durable, lseek's SEEK_DATA/SEEK_HOLE, which find a sparse file's holes,
/// and sync_file_range, which starts writing a file's pages back before the final flush. Linux
/// only; elsewhere <see cref="IsAvailable"/> is false and callers say what they cannot do.
/// </summary>
internal static unsafe class Posix
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int StatxSize = 256;
    private const int OpenReadOnlyCloseOnExec = 0x80000;
    private const int FileTypeMask = 0xF000;
    private const int InvalidArgument = 22;
    private const int NoSuchDeviceOrAddress = 6;
    private const int SeekDataWhence = 3;
    private const int SeekHoleWhence = 4;
    private const uint SyncFileRangeWrite = 2;

    private static readonly Api? Functions = Load();

    public static bool IsAvailable => Functions is not null;

    /// <summary>What a path names, without following a final symbolic link; null where it cannot be told.</summary>
    public static PosixFileType? TypeOf(string path)
    {
        if (Functions is not { } api)
        {
            return null;
        }

        var buffer = stackalloc byte[StatxSize];
        var name = NullTerminated(path);
        int result;
        fixed (byte* pointer = name)
        {
            result = api.Statx(AtFdCwd, pointer, AtSymlinkNoFollow, StatxType, buffer);
        }

        if (result != 0)
        {
            return null;
        }

        return (*(ushort*)(buffer + StatxModeOffset) & FileTypeMask) switch
        {
            0x8000 => PosixFileType.Regular,
            0x4000 => PosixFileType.Directory,
            0xA000 => PosixFileType.SymbolicLink,
            0x1000 => PosixFileType.Fifo,
            0x2000 => PosixFileType.CharacterDevice,
            0x6000 => PosixFileType.BlockDevice,
            0xC000 => PosixFileType.Socket,
            _ => null,
        };
    }

    /// <summary>
    /// Flushes a folder's entries (a rename into it) to stable storage. False when the file system
    /// cannot flush folders (EINVAL, as some network and FUSE file systems answer); throws
    /// IOException when the flush fails.
    /// </summary>
    public static bool FlushDirectory(string path)
    {
        var api = Functions ?? throw new PlatformNotSupportedException("fsync on a folder needs the C library.");
        var name = NullTerminated(path);
        int descriptor;
        fixed (byte* pointer = name)
        {
            descriptor = api.Open(pointer, OpenReadOnlyCloseOnExec);
        }

        if (descriptor < 0)
        {
            throw new IOException($"The folder '{path}' could not be opened to flush it (errno {Marshal.GetLastSystemError()}).");
        }

        try
        {
            if (api.Fsync(descriptor) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastSystemError();
            return errno == InvalidArgument
                ? false
                : throw new IOException($"The folder '{path}' could not be flushed to stable storage (errno {errno}).");
        }
        finally
        {
            api.Close(descriptor);
        }
    }

    /// <summary>
    /// The first range of stored data at or after <paramref name="offset"/> of an open file of
    /// <paramref name="length"/> bytes, as SEEK_DATA and SEEK_HOLE tell it (file systems that
    /// do not track holes answer the whole rest as data); null when the call is not available or
    /// fails, so the caller reads everything.
    /// </summary>
    /// <remarks>lseek moves the descriptor's offset, which positional reads never use.</remarks>
    public static Sources.DataRange? NextData(SafeHandle file, long offset, long length)
    {
        if (Functions is not { } api)
        {
            return null;
        }

        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var descriptor = (int)file.DangerousGetHandle();
            var start = api.Seek(descriptor, offset, SeekDataWhence);
            if (start < 0)
            {
                // ENXIO: no data at or after the offset, only a hole to the end.
                return Marshal.GetLastSystemError() == NoSuchDeviceOrAddress ? new(length, length) : null;
            }

            var end = api.Seek(descriptor, start, SeekHoleWhence);
            if (end < 0)
            {
                return null;
            }

            return new(Math.Min(start, length), Math.Min(end, length));
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Starts writing back the dirty pages of [<paramref name="offset"/>, offset + <paramref name="length"/>)
    /// of an open file without waiting for them (sync_file_range with SYNC_FILE_RANGE_WRITE), so the
    /// device writes while the disk is still being converted and the final flush has little left.
    /// It makes nothing durable; false when the call is not available or fails.
    /// </summary>
    public static bool StartWriteback(SafeHandle file, long offset, long length)
    {
        var syncFileRange = Functions?.SyncFileRange ?? 0;
        if (syncFileRange == 0)
        {
            return false;
        }

        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            return ((delegate* unmanaged[Cdecl]<int, long, long, uint, int>)syncFileRange)((int)file.DangerousGetHandle(), offset, length, SyncFileRangeWrite) == 0;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private static byte[] NullTerminated(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>The C library on Linux, for the engine's other callers of it (liblzma's allocator); false elsewhere.</summary>
    public static bool TryLoadLibrary(out nint handle)
    {
        handle = 0;
        return OperatingSystem.IsLinux()
            && (NativeLibrary.TryLoad("libc.so.6", typeof(Posix).Assembly, null, out handle)
                || NativeLibrary.TryLoad("libc", typeof(Posix).Assembly, null, out handle));
    }

    private static Api? Load()
    {
        if (TryLoadLibrary(out var handle)
            && NativeLibrary.TryGetExport(handle, "statx", out var statx)
            && NativeLibrary.TryGetExport(handle, "open", out var open)
            && NativeLibrary.TryGetExport(handle, "fsync", out var fsync)
            && NativeLibrary.TryGetExport(handle, "close", out var close)
            && NativeLibrary.TryGetExport(handle, "lseek", out var seek))
        {
            // Optional: a C library without it only loses the early writeback.
            NativeLibrary.TryGetExport(handle, "sync_file_range", out var syncFileRange);
            return new Api(
                (delegate* unmanaged[Cdecl, SuppressGCTransition]<int, byte*, int, uint, byte*, int>)statx,
                (delegate* unmanaged[Cdecl]<byte*, int, int>)open,
                (delegate* unmanaged[Cdecl]<int, int>)fsync,
                (delegate* unmanaged[Cdecl]<int, int>)close,
                (delegate* unmanaged[Cdecl, SuppressGCTransition]<int, long, int, long>)seek,
                syncFileRange);
        }

        return null;
    }

    private sealed class Api(
        delegate* unmanaged[Cdecl, SuppressGCTransition]<int, byte*, int, uint, byte*, int> statx,
        delegate* unmanaged[Cdecl]<byte*, int, int> open,
        delegate* unmanaged[Cdecl]<int, int> fsync,
        delegate* unmanaged[Cdecl]<int, int> close,
        delegate* unmanaged[Cdecl, SuppressGCTransition]<int, long, int, long> seek,
        nint syncFileRange)
    {
        public delegate* unmanaged[Cdecl, SuppressGCTransition]<int, byte*, int, uint, byte*, int> Statx { get; } = statx;

        public delegate* unmanaged[Cdecl]<byte*, int, int> Open { get; } = open;

        public delegate* unmanaged[Cdecl]<int, int> Fsync { get; } = fsync;

        public delegate* unmanaged[Cdecl]<int, int> Close { get; } = close;

        /// <summary>lseek, with a 64-bit off_t as on every 64-bit Linux. It never blocks, and with no
        /// transition in between nothing of the runtime's can overwrite errno before it is read.</summary>
        public delegate* unmanaged[Cdecl, SuppressGCTransition]<int, long, int, long> Seek { get; } = seek;

        /// <summary>sync_file_range (64-bit offsets), 0 where the C library lacks it. It may block
        /// while the device's queue is full, so it gets a GC transition.</summary>
        public nint SyncFileRange { get; } = syncFileRange;
    }
}

/// <summary>The kinds of file a POSIX file system holds.</summary>
internal enum PosixFileType
{
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
}
