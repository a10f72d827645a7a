using System.Security.Cryptography;
using CdiTools.Engine.Sinks;
using CdiTools.Testing;

namespace CdiTools.Engine.Tests;

/// <summary>The local disk file: written in order, its writeback started as it goes, whole under its name once complete.</summary>
public sealed class SparseFileSinkTests : IDisposable
{
    private readonly TemporaryDirectory work = new();

    public void Dispose() => work.Dispose();

    [Fact]
    public void Writeback_starts_every_32_MiB_as_the_disk_is_written_and_the_flushed_file_holds_every_byte()
    {
        Assert.True(OperatingSystem.IsLinux(), "sync_file_range is Linux's; elsewhere only the final flush writes the file back");
        var piece = new byte[4 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var path = work.File("disk.raw");
        int started;
        using (var sink = new SparseFileSink(path, overwrite: false))
        {
            for (var i = 0; i < 25; i++)
            {
                Array.Fill(piece, (byte)(i + 1));
                sink.WriteData((long)i * piece.Length, piece);
                hash.AppendData(piece);
            }

            // 100 MiB written: writeback started at 32, 64 and 96 MiB; the last 4 MiB are left to the flush.
            Assert.Equal(3, sink.WritebacksStarted);
            sink.Complete(25L * piece.Length);
            started = sink.WritebacksStarted;
        }

        Assert.Equal(3, started);
        Assert.Equal(Convert.ToHexString(hash.GetHashAndReset()), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));
        Assert.Equal(["disk.raw"], work.Files());
    }
}
