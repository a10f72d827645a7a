using System.Text;
using CdiTools.Engine;

namespace CdiTools.Cluster.Upload;

/// <summary>DataVolume names made from image file names, so that a folder of images uploads without naming each.</summary>
public static class DataVolumeNames
{
    /// <summary>
    /// "Fedora-Cloud_40.x86_64.qcow2.xz" gives "fedora-cloud-40-x86-64": the file's base name, lower
    /// case, every run of other characters a single '-', trimmed to 63 characters; null when nothing is left.
    /// </summary>
    public static string? FromImage(string fileName)
    {
        var text = new StringBuilder();
        foreach (var c in LocalImport.BaseName(Path.GetFileName(fileName)).ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                text.Append(c);
            }
            else if (text.Length > 0 && text[^1] != '-')
            {
                text.Append('-');
            }
        }

        var name = text.ToString(0, Math.Min(text.Length, 63)).Trim('-');
        return name.Length > 0 ? name : null;
    }
}
