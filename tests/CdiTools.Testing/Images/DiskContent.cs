using System.Security.Cryptography;
using System.Text;

namespace CdiTools.Testing.Images;

/// <summary>
/// Deterministic raw disk content for fixtures: a mix of zero stretches, random (incompressible)
/// data, text (compressible) and sparse single bytes, so every conversion path meets each kind.
/// </summary>
public static class DiskContent
{
    /// <summary>Writes a raw disk of <paramref name="size"/> bytes to <paramref name="path"/> and returns its SHA-256.</summary>
    public static string WriteMixed(string path, long size, int seed = 1)
    {
        var random = new Random(seed);
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 4096).Select(i => $"line {i} of a compressible text region\n")));
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Fill(file, size, random, text);
        }

        return Sha256(path);
    }

    private static void Fill(FileStream file, long size, Random random, byte[] text)
    {
        file.SetLength(size);
        var buffer = new byte[1 << 20];
        for (long offset = 0; offset < size;)
        {
            var length = (int)Math.Min(buffer.Length, size - offset);
            var region = (offset / (1 << 20)) % 5;
            var span = buffer.AsSpan(0, length);
            switch (region)
            {
                case 0:
                    random.NextBytes(span);
                    break;
                case 1:
                    span.Clear();
                    break;
                case 2:
                    for (var i = 0; i < length; i += text.Length)
                    {
                        text.AsSpan(0, Math.Min(text.Length, length - i)).CopyTo(span[i..]);
                    }

                    break;
                case 3:
                    // Mostly zeros with a byte now and then: neither a hole nor dense data.
                    span.Clear();
                    for (var i = random.Next(0, 70000); i < length; i += random.Next(30000, 90000))
                    {
                        span[i] = (byte)(1 + random.Next(255));
                    }

                    break;
                default:
                    random.NextBytes(span[..(length / 2)]);
                    span[(length / 2)..].Clear();
                    break;
            }

            file.Position = offset;
            file.Write(span);
            offset += length;
        }

    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
