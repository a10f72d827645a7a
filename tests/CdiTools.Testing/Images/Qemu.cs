namespace CdiTools.Testing.Images;

/// <summary>qemu-img and qemu-io, the oracle: images they make and what they convert them to.</summary>
public static class Qemu
{
    /// <summary>The SHA-256 of `qemu-img convert -O raw` of <paramref name="image"/>, and the raw file's allocated bytes.</summary>
    /// <param name="format">The source format to name with -f, for images qemu would probe wrongly (a fixed VHD probes as raw).</param>
    public static (string Sha256, long Allocated, long Length) ConvertToRaw(string image, string workFolder, string? format = null)
    {
        var raw = Path.Combine(workFolder, Path.GetFileName(image) + ".qemu.raw");
        string[] from = format is null ? [] : ["-f", format];
        ExternalTool.Run("qemu-img", ["convert", .. from, "-O", "raw", image, raw]);
        try
        {
            return (DiskContent.Sha256(raw), ExternalTool.AllocatedBytes(raw), new FileInfo(raw).Length);
        }
        finally
        {
            File.Delete(raw);
        }
    }

    /// <summary>Writes <paramref name="image"/> in <paramref name="format"/> (vmdk, vpc, vhdx, vdi, qcow2) from a raw file, with
    /// `-o` options such as `subformat=streamOptimized`.</summary>
    public static void ConvertFromRaw(string raw, string image, string format, params string[] options)
    {
        var arguments = new List<string> { "convert", "-f", "raw", "-O", format };
        foreach (var option in options)
        {
            arguments.Add("-o");
            arguments.Add(option);
        }

        arguments.Add(raw);
        arguments.Add(image);
        ExternalTool.Run("qemu-img", [.. arguments]);
    }

    /// <summary>Runs qemu-io commands (`write -P 0xab 0 64k`, `write -z ...`, `write -c ...`) on an image.</summary>
    public static void Io(string image, params string[] commands)
    {
        var arguments = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(image);
        ExternalTool.Run("qemu-io", [.. arguments]);
    }
}
