using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CdiTools.Engine.Layers.Xz;

namespace CdiTools.Engine.Tests.Layers.Xz;

/// <summary>The xz tests share one temp directory of fixtures, made with the xz CLI on first use.</summary>
[CollectionDefinition(Name)]
public sealed class XzTestSet : ICollectionFixture<XzFiles>
{
    public const string Name = "Xz";
}

/// <summary>Payloads and their .xz forms, made by the real xz at test time and deleted afterwards.</summary>
public sealed class XzFiles : IDisposable
{
    private static readonly string[] Words =
        "the disk image layer block stream index footer header check padding sector cluster volume import scratch storage class node kernel boot partition table"
            .Split(' ');

    private readonly Dictionary<string, byte[]> cache = [];

    public XzFiles()
    {
        Root = Directory.CreateTempSubdirectory("cditools-xz-").FullName;
    }

    public string Root { get; }

    /// <summary>A deterministic mix of zeros, random bytes and text, in 64 KiB runs: half zeros, a quarter each of the others.</summary>
    public static byte[] Mixed(int length, int seed)
    {
        var data = new byte[length];
        FillMixed(data, seed, 0);
        return data;
    }

    /// <summary>Writes the same kind of mix to a file, a chunk at a time.</summary>
    public static void WriteMixed(string path, long length, int seed)
    {
        using var file = File.Create(path);
        var chunk = new byte[4 << 20];
        for (long written = 0; written < length; written += chunk.Length)
        {
            var count = (int)Math.Min(chunk.Length, length - written);
            FillMixed(chunk.AsSpan(0, count), seed, written);
            file.Write(chunk, 0, count);
        }
    }

    private static void FillMixed(Span<byte> data, int seed, long origin)
    {
        const int Run = 64 * 1024;
        for (var at = 0; at < data.Length; at += Run)
        {
            var run = data.Slice(at, Math.Min(Run, data.Length - at));
            var index = (origin + at) / Run;
            var random = new Random(unchecked((seed * 1_000_003) + (int)index));
            switch (index % 4)
            {
                case 2:
                    random.NextBytes(run);
                    break;
                case 3:
                    var filled = 0;
                    while (filled < run.Length)
                    {
                        var word = Encoding.ASCII.GetBytes(Words[random.Next(Words.Length)] + (random.Next(12) == 0 ? ".\n" : " "));
                        var take = Math.Min(word.Length, run.Length - filled);
                        word.AsSpan(0, take).CopyTo(run[filled..]);
                        filled += take;
                    }

                    break;
                default:
                    run.Clear();
                    break;
            }
        }
    }

    /// <summary>The payload compressed by <c>xz -c</c> with the given options, made once per key.</summary>
    public byte[] Compress(string key, byte[] payload, params string[] options)
    {
        lock (cache)
        {
            if (cache.TryGetValue(key, out var cached))
            {
                return cached;
            }

            var input = Path.Combine(Root, key + ".bin");
            File.WriteAllBytes(input, payload);
            var output = Path.Combine(Root, key + ".xz");
            RunXz([.. options, "-c", "-q", input], output);
            var compressed = File.ReadAllBytes(output);
            cache[key] = compressed;
            return compressed;
        }
    }

    /// <summary>Runs xz with stdout to <paramref name="stdoutPath"/>, or hashed with SHA-256 when that is null.</summary>
    public static byte[]? RunXz(IEnumerable<string> arguments, string? stdoutPath)
    {
        var start = new ProcessStartInfo("xz")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("xz did not start.");
        var stderr = process.StandardError.ReadToEndAsync();
        byte[]? hash = null;
        if (stdoutPath is null)
        {
            hash = SHA256.HashData(process.StandardOutput.BaseStream);
        }
        else
        {
            using var file = File.Create(stdoutPath);
            process.StandardOutput.BaseStream.CopyTo(file);
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"xz {string.Join(' ', start.ArgumentList)} failed: {stderr.Result}");
        return hash;
    }

    /// <summary>What <c>xz --robot --list</c> says: how many streams and blocks, and which check.</summary>
    public (int Streams, int Blocks, string Check) List(byte[] compressed)
    {
        var path = Path.Combine(Root, $"list-{Guid.NewGuid():N}.xz");
        File.WriteAllBytes(path, compressed);
        var start = new ProcessStartInfo("xz") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "--robot", "--list", path })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var lines = process.StandardOutput.ReadToEnd().Split('\n');
        process.WaitForExit();
        File.Delete(path);
        var totals = lines.Single(line => line.StartsWith("totals\t", StringComparison.Ordinal)).Split('\t');
        return (int.Parse(totals[1], CultureInfo.InvariantCulture), int.Parse(totals[2], CultureInfo.InvariantCulture), totals[6]);
    }

    /// <summary>Decodes all of <paramref name="compressed"/> with the chosen decoder, checking it really is that decoder.</summary>
    public static byte[] Decode(byte[] compressed, bool native, int readSize = 81920) =>
        Decode(new MemoryStream(compressed), native, readSize);

    public static byte[] Decode(Stream compressed, bool native, int readSize = 81920)
    {
        using var stream = Open(compressed, native);
        var output = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    public static Stream Open(Stream compressed, bool native, ulong? memoryLimit = null)
    {
        var stream = memoryLimit is { } limit
            ? XzLayer.Open(compressed, native, limit, out var name)
            : XzLayer.Open(compressed, native, out name);

        // The native case must not quietly become managed: CI has liblzma.
        if (native)
        {
            Assert.StartsWith("liblzma 5.", name);
        }
        else
        {
            Assert.Equal("managed", name);
        }

        return stream;
    }

    /// <summary>The ImageException that decoding all of <paramref name="compressed"/> fails with.</summary>
    public static ImageException DecodeFails(byte[] compressed, bool native, ulong? memoryLimit = null)
    {
        using var stream = Open(new MemoryStream(compressed), native, memoryLimit);
        return Assert.Throws<ImageException>(() => stream.CopyTo(Stream.Null));
    }

    public void Dispose()
    {
        Directory.Delete(Root, recursive: true);
    }
}
