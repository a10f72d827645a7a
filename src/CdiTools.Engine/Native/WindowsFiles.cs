using System.ComponentModel;
using System.Runtime.InteropServices;

namespace CdiTools.Engine.Native;

/// <summary>Windows file calls .NET does not expose: a rename that returns only once it is on disk.</summary>
internal static partial class WindowsFiles
{
    private const uint MoveFileReplaceExisting = 0x1;
    private const uint MoveFileWriteThrough = 0x8;

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> and returns when the rename is on stable storage.</summary>
    public static void MoveWritingThrough(string source, string destination)
    {
        if (!MoveFileEx(source, destination, MoveFileReplaceExisting | MoveFileWriteThrough))
        {
            var error = Marshal.GetLastPInvokeError();
            throw new IOException($"'{source}' could not be renamed to '{destination}': {new Win32Exception(error).Message}", error);
        }
    }

    [LibraryImport("kernel32.dll", EntryPoint = "MoveFileExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool MoveFileEx(string existingFileName, string newFileName, uint flags);
}
