using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CdiTools.Engine.Native;

/// <summary>
/// Windows file calls .NET does not expose: a rename that returns only once it is on disk, and
/// FSCTL_QUERY_ALLOCATED_RANGES, which finds a sparse file's holes.
/// </summary>
internal static partial class WindowsFiles
{
    private const uint MoveFileReplaceExisting = 0x1;
    private const uint MoveFileWriteThrough = 0x8;
    private const uint QueryAllocatedRanges = 0x000940CF;
    private const int MoreData = 234;

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> and returns when the rename is on stable storage.</summary>
    public static void MoveWritingThrough(string source, string destination)
    {
        if (!MoveFileEx(source, destination, MoveFileReplaceExisting | MoveFileWriteThrough))
        {
            var error = Marshal.GetLastPInvokeError();
            throw new IOException($"'{source}' could not be renamed to '{destination}': {new Win32Exception(error).Message}", error);
        }
    }

    /// <summary>
    /// The first allocated range at or after <paramref name="offset"/> of a file of
    /// <paramref name="length"/> bytes (a file that is not sparse is one range); null when the file
    /// system cannot say, so the caller reads everything.
    /// </summary>
    public static unsafe Sources.DataRange? NextData(SafeFileHandle file, long offset, long length)
    {
        var query = new AllocatedRange { FileOffset = offset, Length = length - offset };
        AllocatedRange found;
        if (!DeviceIoControl(file, QueryAllocatedRanges, &query, (uint)sizeof(AllocatedRange), &found, (uint)sizeof(AllocatedRange), out var returned, 0)
            && Marshal.GetLastPInvokeError() != MoreData)
        {
            return null;
        }

        if (returned < sizeof(AllocatedRange))
        {
            return new(length, length);
        }

        // Ranges come in whole clusters, so the first may start before the offset asked for.
        var start = Math.Clamp(found.FileOffset, offset, length);
        return new(start, Math.Clamp(found.FileOffset + found.Length, start, length));
    }

    [LibraryImport("kernel32.dll", EntryPoint = "MoveFileExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool MoveFileEx(string existingFileName, string newFileName, uint flags);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static unsafe partial bool DeviceIoControl(SafeFileHandle device, uint code, void* input, uint inputSize, void* output, uint outputSize, out uint returned, nint overlapped);

    /// <summary>FILE_ALLOCATED_RANGE_BUFFER.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct AllocatedRange
    {
        public long FileOffset;
        public long Length;
    }
}
