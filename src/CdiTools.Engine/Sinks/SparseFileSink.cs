using System.Diagnostics;
using CdiTools.Engine.Native;
using Microsoft.Win32.SafeHandles;

namespace CdiTools.Engine.Sinks;

/// <summary>
/// A raw disk file with holes where the disk is zero. It is written under a temporary name in the
/// destination's folder and renamed into place only by <see cref="Complete"/>, so a failed or
/// cancelled conversion leaves neither a partial file nor a changed destination.
/// </summary>
/// <remarks>
/// The file's data reaches stable storage before the rename, and the rename itself (the folder's
/// entry) after it: once <see cref="Complete"/> returns, a power loss leaves the whole disk under
/// the destination's name, never a name whose data was still in the page cache.
/// </remarks>
public sealed class SparseFileSink : IRawSink
{
    // How much written data is left to the page cache before its writeback is started: large
    // enough for the device to get long writes, small enough that the final flush finds little.
    private const long WritebackStride = 32L << 20;

    private readonly SafeFileHandle handle;
    private readonly string temporaryPath;
    private bool completed;
    private long writebackFrom;
    private long writtenThrough;

    /// <param name="destinationPath">The file to create.</param>
    /// <param name="overwrite">Replace an existing file; otherwise an existing file is an error before anything is written.</param>
    public SparseFileSink(string destinationPath, bool overwrite)
    {
        DestinationPath = Path.GetFullPath(destinationPath);
        if (!overwrite && File.Exists(DestinationPath))
        {
            throw new DestinationExistsException(DestinationPath);
        }

        if (Directory.Exists(DestinationPath))
        {
            throw new IOException($"The destination '{DestinationPath}' is a directory.");
        }

        var folder = Path.GetDirectoryName(DestinationPath)!;
        temporaryPath = Path.Combine(folder, $".{Path.GetFileName(DestinationPath)}.{Guid.NewGuid():N}.partial");
        try
        {
            handle = File.OpenHandle(temporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DestinationUnavailableException("DestinationFolderNotFound", DestinationPath, $"The folder '{folder}' for '{Path.GetFileName(DestinationPath)}' does not exist; create it first.", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new DestinationUnavailableException("DestinationNotWritable", DestinationPath, $"'{DestinationPath}' cannot be written: the folder '{folder}' refuses new files ({e.Message.Replace(temporaryPath, "a temporary file", StringComparison.Ordinal)}).", e);
        }
    }

    public string DestinationPath { get; }

    public long AllocatedBytes { get; private set; }

    public TimeSpan FlushDuration { get; private set; }

    /// <summary>How many times writeback was started early (Linux); the final flush then has only the rest to write.</summary>
    public int WritebacksStarted { get; private set; }

    // The disk arrives in order, so the data behind the last write is complete: once a stride of
    // it has gathered, the device starts writing it while the conversion goes on, and the flush
    // in Complete waits for the last stride instead of the whole disk.
    public void WriteData(long offset, ReadOnlySpan<byte> data)
    {
        RandomAccess.Write(handle, data, offset);
        AllocatedBytes += data.Length;
        writtenThrough = Math.Max(writtenThrough, offset + data.Length);
        if (writtenThrough - writebackFrom >= WritebackStride)
        {
            if (Posix.StartWriteback(handle, writebackFrom, writtenThrough - writebackFrom))
            {
                WritebacksStarted++;
            }

            writebackFrom = writtenThrough;
        }
    }

    // A new file reads zeros wherever nothing was written: skipping the run leaves a hole.
    public void WriteZeros(long offset, long length)
    {
    }

    public void Complete(long length)
    {
        RandomAccess.SetLength(handle, length);
        var clock = Stopwatch.StartNew();
        RandomAccess.FlushToDisk(handle);
        handle.Dispose();
        if (OperatingSystem.IsWindows())
        {
            // NTFS journals the rename itself once it is written through.
            WindowsFiles.MoveWritingThrough(temporaryPath, DestinationPath);
        }
        else
        {
            File.Move(temporaryPath, DestinationPath, overwrite: true);
        }

        completed = true;
        if (Posix.IsAvailable)
        {
            try
            {
                Posix.FlushDirectory(Path.GetDirectoryName(DestinationPath)!);
            }
            catch (IOException e)
            {
                throw new IOException($"The disk was written to '{DestinationPath}' and flushed, but its name may not survive a power loss: {e.Message}", e);
            }
        }

        FlushDuration = clock.Elapsed;
    }

    public void Dispose()
    {
        if (completed)
        {
            return;
        }

        handle.Dispose();
        try
        {
            File.Delete(temporaryPath);
        }
        catch (IOException)
        {
            // Nothing more can be done; the name marks it as a leftover.
        }
    }
}
