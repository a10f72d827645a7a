using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Sources;
using CdiTools.Testing;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>A temporary directory where fixtures are made with GNU tar at test time; deleted afterwards.</summary>
internal sealed class TarWorkspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("cditools-tar-").FullName;

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public byte[] WriteFile(string relative, byte[] content)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return content;
    }

    public byte[] WriteFile(string relative, int size, int seed = 1) => WriteFile(relative, TarTestIo.Pattern(size, seed));

    /// <summary>A sparse file: holes everywhere but the islands, which hold pseudo-random bytes.</summary>
    public string WriteSparse(string relative, long size, params (long Offset, int Length)[] islands)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(size);
        var seed = 7;
        foreach (var (offset, length) in islands)
        {
            file.Position = offset;
            file.Write(TarTestIo.Pattern(length, seed++));
        }

        return path;
    }

    /// <summary>Runs GNU tar in the workspace: <c>tar -cf name options... -- members...</c>; returns the archive's path.</summary>
    public string Tar(string name, string[] options, params string[] members)
    {
        Run("tar", ["-cf", name, .. options, "--", .. members]);
        return PathOf(name);
    }

    /// <summary>Runs a tool in the workspace and insists it succeeds.</summary>
    public void Run(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = Root, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {errors}");
    }

    public byte[] TarBytes(string name, string[] options, params string[] members) => File.ReadAllBytes(Tar(name, options, members));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Inputs and readers for the tar tests.</summary>
internal static class TarTestIo
{
    public static byte[] Pattern(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static LayerInput RandomInput(byte[] archive) => LayerInput.FromRandom(new MemorySource(archive));

    /// <summary>A forward-only input that gives at most <paramref name="chunk"/> bytes a read, as a decompressor might.</summary>
    public static LayerInput ForwardInput(byte[] archive, int chunk = 7919) =>
        LayerInput.FromStream(new ForwardOnlyStream(new MemoryStream(archive), chunk));

    public static LayerInput Input(byte[] archive, bool forward) => forward ? ForwardInput(archive) : RandomInput(archive);

    public static byte[] ReadAll(LayerInput input)
    {
        using var stream = input.OpenStream();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static string Sha256(Stream stream) => Convert.ToHexString(SHA256.HashData(stream));

    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Sha256(file);
    }

    /// <summary>Opens the archive and hashes the member, reading it whole (which, forward-only, also checks the rest of the archive).</summary>
    public static (string Hash, TarMemberChoice Choice, long? Length) OpenAndHash(LayerInput archive)
    {
        var (member, choice) = TarLayer.Open(archive);
        using (member)
        {
            using var stream = member.OpenStream();
            return (Sha256(stream), choice, member.Length);
        }
    }

    public static ImageException Refusal(Action action) => Assert.Throws<ImageException>(action);

    /// <summary>Opens and reads the disk whole; the refusal may come at either step.</summary>
    public static ImageException OpenAndReadFails(LayerInput archive) => Refusal(() =>
    {
        var (member, _) = TarLayer.Open(archive);
        using (member)
        {
            ReadAll(member);
        }
    });

    public static string Corpus(string name) => Path.Combine(RepositoryPaths.ImageCorpus, name);
}

/// <summary>Bytes in memory as a random-access source that records being disposed.</summary>
internal sealed class MemorySource(byte[] bytes) : IRandomAccessSource
{
    public bool Disposed { get; private set; }

    public long Length => bytes.Length;

    public int ReadAt(long offset, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (offset >= bytes.Length)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, bytes.Length - offset);
        bytes.AsSpan((int)offset, count).CopyTo(buffer);
        return count;
    }

    public void Dispose() => Disposed = true;
}

/// <summary>A stream that cannot seek and gives at most <paramref name="chunk"/> bytes a read; records being disposed.</summary>
internal sealed class ForwardOnlyStream(Stream inner, int chunk = int.MaxValue) : CdiTools.Engine.Sources.ForwardReadStream
{
    public bool Disposed { get; private set; }

    public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, chunk)]);

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Hand-made headers, for what GNU tar will not write on demand (a pax size on a small member, a damaged map).</summary>
internal static class TarBlocks
{
    public static byte[] Header(string name, long size, char type, string magic = "ustar\u000000")
    {
        var block = new byte[512];
        System.Text.Encoding.UTF8.GetBytes(name).CopyTo(block, 0);
        Octal(block, 100, 8, 0b110_100_100);
        Octal(block, 108, 8, 0);
        Octal(block, 116, 8, 0);
        Octal(block, 124, 12, size);
        Octal(block, 136, 12, 0);
        block[156] = (byte)type;
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(block, 257);
        SetChecksum(block);
        return block;
    }

    public static void SetChecksum(byte[] block, int at = 0)
    {
        "        "u8.CopyTo(block.AsSpan(at + 148));
        var sum = 0;
        for (var i = 0; i < 512; i++)
        {
            sum += block[at + i];
        }

        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, at + 148);
    }

    /// <summary>A pax extended header for the entry that follows: its header and records, padded to blocks.</summary>
    public static byte[] Pax(params (string Key, string Value)[] records)
    {
        var text = new System.Text.StringBuilder();
        foreach (var (key, value) in records)
        {
            var body = $" {key}={value}\n";
            var length = body.Length + 1;
            while ((length.ToString(CultureInfo.InvariantCulture).Length + body.Length) != length)
            {
                length = length.ToString(CultureInfo.InvariantCulture).Length + body.Length;
            }

            text.Append(length).Append(body);
        }

        var data = System.Text.Encoding.UTF8.GetBytes(text.ToString());
        return [.. Header("PaxHeaders/x", data.Length, 'x'), .. Padded(data)];
    }

    public static byte[] Padded(byte[] data) => [.. data, .. new byte[(512 - (data.Length % 512)) % 512]];

    public static byte[] End => new byte[1024];

    private static void Octal(byte[] block, int at, int length, long value) =>
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(length - 1, '0') + "\0").CopyTo(block, at);
}
