using System.Diagnostics;

namespace CdiTools.Testing.Images;

/// <summary>Runs the command-line tools the tests use as oracles and fixture makers (qemu-img, qemu-io, xz, zstd, gzip, tar).</summary>
public static class ExternalTool
{
    /// <summary>Runs <paramref name="tool"/> and returns its standard output; throws with its error output when it fails.</summary>
    public static string Run(string tool, params string[] arguments) => RunIn(null, tool, arguments);

    public static string RunIn(string? workingDirectory, string tool, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result}");
        }

        return output.Result;
    }

    /// <summary>Runs a shell pipeline (for `xz -c a > b` and the like).</summary>
    public static string Shell(string command) => Run("/bin/sh", "-c", command);

    /// <summary>
    /// The bytes of a file that hold data, summed over its data extents (SEEK_DATA/SEEK_HOLE). Unlike
    /// st_blocks this does not move with the filesystem's speculative preallocation or writeback
    /// timing, so two files written the same way compare the same.
    /// </summary>
    public static long AllocatedBytes(string path) => SparseFiles.DataBytes(path);
}
