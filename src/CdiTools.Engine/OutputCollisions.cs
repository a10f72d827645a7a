namespace CdiTools.Engine;

/// <summary>
/// Which of several outputs of one call would land in the same place (one file, one DataVolume):
/// a folder destination names demo.vhd and demo.vhdx both demo.raw, and one -DestinationPath or
/// -Name given for many inputs names them all alike. Such inputs are refused before anything is
/// written, so no output silently replaces another.
/// </summary>
public static class OutputCollisions
{
    /// <summary>For each output, the indexes of the others that share its key; empty when it is alone.</summary>
    /// <param name="keys">Where each output goes: a full path, or namespace/name.</param>
    /// <param name="ignoreCase">Whether keys differing only in case are the same place (Windows and macOS paths).</param>
    public static IReadOnlyList<int[]> Find(IReadOnlyList<string> keys, bool ignoreCase)
    {
        var comparer = ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var groups = Enumerable.Range(0, keys.Count).GroupBy(i => keys[i], comparer).Where(g => g.Count() > 1).ToList();
        var result = Enumerable.Range(0, keys.Count).Select(_ => Array.Empty<int>()).ToArray();
        foreach (var group in groups)
        {
            foreach (var index in group)
            {
                result[index] = [.. group.Where(other => other != index)];
            }
        }

        return result;
    }

    /// <summary>Whether the local file system tells names apart by case only (Linux does; Windows and macOS by default do not).</summary>
    public static bool PathsIgnoreCase => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS();
}
