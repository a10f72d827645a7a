using System.Runtime.InteropServices;

namespace CdiTools.Testing.Images;

/// <summary>Where a sparse file has data, asked of the kernel with lseek(SEEK_DATA/SEEK_HOLE).</summary>
public static partial class SparseFiles
{
    private const int SeekData = 3;
    private const int SeekHole = 4;

    public static long DataBytes(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var fd = (int)handle.DangerousGetHandle();
        var length = RandomAccess.GetLength(handle);
        long total = 0;
        for (long offset = 0; offset < length;)
        {
            var data = Seek(fd, offset, SeekData);
            if (data < 0)
            {
                break;
            }

            var hole = Seek(fd, data, SeekHole);
            total += hole - data;
            offset = hole;
        }

        return total;
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(int fd, long offset, int whence);
}
