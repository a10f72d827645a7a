using Microsoft.Win32.SafeHandles;

namespace CdiTools.Engine.Sources;

/// <summary>A local file read with positional reads, safe to use from several threads at once.</summary>
public sealed class FileSource : IRandomAccessSource
{
    private readonly SafeFileHandle handle;

    public FileSource(string path)
        : this(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess), path)
    {
    }

    /// <summary>Takes over a handle opened for reading (see <see cref="ReferencedFile"/>).</summary>
    internal FileSource(SafeFileHandle handle, string path)
    {
        this.handle = handle;
        Path = path;
        Length = RandomAccess.GetLength(handle);
    }

    public string Path { get; }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> buffer)
    {
        if (offset >= Length)
        {
            return 0;
        }

        var total = 0;
        while (total < buffer.Length && offset + total < Length)
        {
            var read = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Asks the file system where the file's holes are, so they are never read.</summary>
    public DataRange NextData(long offset)
    {
        if (offset >= Length)
        {
            return new(Length, Length);
        }

        var found = OperatingSystem.IsWindows() ? Native.WindowsFiles.NextData(handle, offset, Length) : Native.Posix.NextData(handle, offset, Length);
        return found ?? new(offset, Length);
    }

    public void Dispose() => handle.Dispose();
}
