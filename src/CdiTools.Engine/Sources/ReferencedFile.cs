using CdiTools.Engine.Native;
using Microsoft.Win32.SafeHandles;

namespace CdiTools.Engine.Sources;

/// <summary>
/// Opens a file that an image names (a VMDK descriptor's extents), and only where that file
/// really lies inside the image's own folder. Absolute names, <c>..</c> that leaves the folder and
/// symbolic links (of the file or of any folder on the way) that lead out are refused before
/// anything is opened, and so are device nodes, FIFOs and sockets: an image someone else made must
/// not make the converter read another file of this machine, as qemu-img would.
/// </summary>
internal static class ReferencedFile
{
    // Linux gives up after 40 links on one path (ELOOP); so do we.
    private const int MaxLinks = 40;

    /// <param name="folder">The folder of the file the user named.</param>
    /// <param name="name">The name as the image gives it.</param>
    /// <param name="description">What names the file, for messages: "Extent 'disk-flat.vmdk' (descriptor line 7)".</param>
    /// <param name="outsideId">The error id of a name that leads outside the folder.</param>
    /// <param name="notFileId">The error id of a name that is not a regular file.</param>
    /// <param name="notFoundId">The error id of a name that cannot be opened.</param>
    /// <param name="advice">What to do instead, appended to refusals that leave the folder.</param>
    public static FileSource Open(string folder, string name, string description, ImageError outsideId, ImageError notFileId, ImageError notFoundId, string advice)
    {
        if (name.Length == 0 || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ImageException(notFoundId, $"{description} has no usable file name.");
        }

        if (Path.IsPathRooted(name) || (OperatingSystem.IsWindows() && name.Contains(':', StringComparison.Ordinal)))
        {
            throw new ImageException(outsideId, $"{description} is an absolute path; files an image names are read only from its own folder. {advice}");
        }

        var realFolder = RealPath(Path.GetFullPath(folder));
        string resolved;
        try
        {
            resolved = Resolve(realFolder, name);
        }
        catch (IOException e)
        {
            throw new ImageException(outsideId, $"{description} cannot be resolved: {e.Message}", null, e);
        }

        if (!IsInside(resolved, realFolder))
        {
            throw new ImageException(outsideId, $"{description} resolves to '{resolved}', outside the image's folder '{realFolder}'; files an image names are read only from its own folder. {advice}");
        }

        if (Posix.TypeOf(resolved) is { } type and not PosixFileType.Regular)
        {
            throw new ImageException(notFileId, $"{description} is a {Describe(type)}, not a regular file; it is not read.");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(resolved, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageException(notFoundId, $"{description} cannot be opened: {e.Message}", null, e);
        }

        try
        {
            // A folder swapped for a link between the checks and the open would go unnoticed
            // without asking the kernel what was really opened.
            if (OpenedPath(handle) is { } opened && !string.Equals(opened, resolved, StringComparison.Ordinal))
            {
                throw new ImageException(outsideId, $"{description} changed while it was opened (it now leads to '{opened}'); it is not read. {advice}");
            }

            return new FileSource(handle, resolved);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> lies strictly inside <paramref name="folder"/>; both are real, absolute paths.</summary>
    internal static bool IsInside(string path, string folder)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var prefix = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return path.Length > prefix.Length && path.StartsWith(prefix, comparison);
    }

    /// <summary>An absolute path with every symbolic link on it resolved, as the kernel would walk it.</summary>
    internal static string RealPath(string absolute)
    {
        var root = Path.GetPathRoot(absolute)!;
        return Resolve(root, absolute[root.Length..]);
    }

    // Walks the name component by component from a real folder; a link's target takes the place
    // of the link, from the root when it is absolute and from the link's folder when not.
    private static string Resolve(string start, string name)
    {
        var current = start;
        var pending = new Stack<string>(Components(name).Reverse());
        var links = 0;
        while (pending.TryPop(out var component))
        {
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Join(current, component);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new IOException($"more than {MaxLinks} symbolic links on the way, a loop");
            }

            foreach (var part in Components(target).Reverse())
            {
                pending.Push(part);
            }

            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
            }
        }

        return current;
    }

    private static string[] Components(string path) =>
        OperatingSystem.IsWindows() ? path.Split('\\', '/') : path.Split('/');

    private static string? OpenedPath(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Describe(PosixFileType type) => type switch
    {
        PosixFileType.Directory => "folder",
        PosixFileType.SymbolicLink => "symbolic link",
        PosixFileType.Fifo => "FIFO",
        PosixFileType.CharacterDevice => "character device",
        PosixFileType.BlockDevice => "block device",
        PosixFileType.Socket => "socket",
        _ => "file of another kind",
    };
}
