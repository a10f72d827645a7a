namespace CdiTools.Testing.Images;

/// <summary>qemu-img and qemu-io, the oracle: images they make and what they convert them to.</summary>
public static class Qemu
{
    /// <summary>The SHA-256 of `qemu-img convert -O raw` of <paramref name="image"/>, and the raw file's allocated bytes.</summary>
    public static (string Sha256, long Allocated, long Length) ConvertToRaw(string image, string workFolder)
    {
        var raw = Path.Combine(workFolder, Path.GetFileName(image) + ".qemu.raw");
        ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, raw);
        try
        {
            return (DiskContent.Sha256(raw), ExternalTool.AllocatedBytes(raw), new FileInfo(raw).Length);
        }
        finally
        {
            File.Delete(raw);
        }
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
