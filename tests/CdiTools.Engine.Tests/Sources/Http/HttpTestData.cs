using System.Security.Cryptography;
using CdiTools.Engine.Sources.Http;

namespace CdiTools.Engine.Tests.Sources.Http;

/// <summary>Image contents and helpers shared by the HTTP source tests.</summary>
internal static class HttpTestData
{
    private static readonly Lazy<byte[]> Large = new(() => Pattern(64 * 1024 * 1024, 1));
    private static readonly Lazy<byte[]> Medium = new(() => Pattern((4 * 1024 * 1024) + 12_345, 2));

    /// <summary>64 MiB of pseudo-random bytes: compressible by nothing, so every byte must really travel.</summary>
    public static byte[] Image64 => Large.Value;

    /// <summary>A little over 4 MiB, not a multiple of any block size.</summary>
    public static byte[] Image4 => Medium.Value;

    public static HttpSourceOptions Fast { get; } = new() { Timeout = TimeSpan.FromSeconds(20), RetryCount = 1 };

    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy, 81_920);
        return copy.ToArray();
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    /// <summary>Everything an exception would show a user or a log, inner exceptions included.</summary>
    public static string Everything(Exception e) => e.ToString() + string.Concat(Chain(e).Select(x => x.Message));

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
