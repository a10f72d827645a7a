using System.Buffers.Binary;
using System.Text.Json;
using CdiTools.Engine.Sinks;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>A mixed 72 MiB raw disk whose size is not a whole number of VHD blocks or CHS cylinders, made once for the VHD and VDI tests.</summary>
public sealed class BlockImageDisk : IDisposable
{
    public const long Size = (72L << 20) + 5 * 512;

    public BlockImageDisk()
    {
        Sha256 = DiskContent.WriteMixed(Folder.File("mixed.raw"), Size, seed: 7);
    }

    public TemporaryDirectory Folder { get; } = new();

    public string Path => Folder.File("mixed.raw");

    public string Sha256 { get; }

    public void Dispose() => Folder.Dispose();
}

/// <summary>Makes VHD and VDI test images with qemu-img and qemu-io, and damages them on purpose.</summary>
internal static class VhdTestImages
{
    public static string Corpus(string relative) => System.IO.Path.Combine(RepositoryPaths.ImageCorpus, relative);

    /// <summary>qemu-img convert to vpc or vdi with the given -o options.</summary>
    public static string Make(string raw, TemporaryDirectory work, string format, string name, params string[] options)
    {
        var image = work.File(name);
        Qemu.ConvertFromRaw(raw, image, format, options);
        return image;
    }

    public static string Gzip(string image)
    {
        ExternalTool.Shell($"gzip -c -1 '{image}' > '{image}.gz'");
        return image + ".gz";
    }

    public static string Bunzip(string corpusFile, TemporaryDirectory work)
    {
        var target = work.File(System.IO.Path.GetFileNameWithoutExtension(corpusFile));
        ExternalTool.Shell($"bzip2 -dc '{Corpus(corpusFile)}' > '{target}'");
        return target;
    }

    public static void QemuIo(string image, string format, params string[] commands)
    {
        var arguments = new List<string> { "-f", format };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(image);
        ExternalTool.Run("qemu-io", [.. arguments]);
    }

    /// <summary>qemu-img info's virtual size, with the format named.</summary>
    public static long QemuVirtualSize(string image, string format)
    {
        using var info = JsonDocument.Parse(ExternalTool.Run("qemu-img", "info", "-f", format, "--output=json", image));
        return info.RootElement.GetProperty("virtual-size").GetInt64();
    }

    /// <summary>The bytes qemu-img map reports as data.</summary>
    public static long QemuDataBytes(string image, string format)
    {
        using var map = JsonDocument.Parse(ExternalTool.Run("qemu-img", "map", "-f", format, "--output=json", image));
        return map.RootElement.EnumerateArray().Where(e => e.GetProperty("data").GetBoolean()).Sum(e => e.GetProperty("length").GetInt64());
    }

    /// <summary>Converts to a sink that keeps nothing and hashes nothing: for disks too large to hash in a test.</summary>
    public static ImportResult ConvertToNull(string image, out NullSink sink)
    {
        using var opened = LocalImages.Open(image);
        sink = new NullSink();
        return ImageConverter.Convert(opened, sink);
    }

    public static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        file.Write(bytes);
    }

    public static void PatchBigEndian32(string path, long offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        Patch(path, offset, bytes);
    }

    public static void PatchBigEndian64(string path, long offset, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Patch(path, offset, bytes);
    }

    public static void PatchLittleEndian32(string path, long offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Patch(path, offset, bytes);
    }

    /// <summary>Recomputes the checksum of the footer at <paramref name="offset"/> (512 bytes, checksum at 64).</summary>
    public static void FixFooterChecksum(string path, long offset) => FixChecksum(path, offset, 512, 64);

    /// <summary>Recomputes the checksum of the dynamic header at <paramref name="offset"/> (1024 bytes, checksum at 36).</summary>
    public static void FixHeaderChecksum(string path, long offset) => FixChecksum(path, offset, 1024, 36);

    public static uint ReadBigEndian32(string path, long offset)
    {
        using var file = File.OpenRead(path);
        var bytes = new byte[4];
        file.Position = offset;
        file.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static void FixChecksum(string path, long offset, int length, int checksumAt)
    {
        var bytes = new byte[length];
        using (var file = File.OpenRead(path))
        {
            file.Position = offset;
            file.ReadExactly(bytes);
        }

        uint sum = 0;
        for (var i = 0; i < length; i++)
        {
            if (i < checksumAt || i >= checksumAt + 4)
            {
                sum += bytes[i];
            }
        }

        PatchBigEndian32(path, offset + checksumAt, ~sum);
    }
}
