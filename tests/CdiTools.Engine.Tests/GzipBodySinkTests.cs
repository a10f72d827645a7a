using System.IO.Compression;
using System.Security.Cryptography;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests;

/// <summary>The gzip upload body: zero runs as prepared members, read back whole by every gzip reader, and never complete-looking after a failure.</summary>
public sealed class GzipBodySinkTests
{
    private static readonly byte[] Data = [.. Enumerable.Range(0, 3 * 4096).Select(i => (byte)(i * 7 + 1))];

    private static (byte[] Body, long ZeroMembers) Write(Action<GzipBodySink> writes, long length, bool complete = true)
    {
        using var body = new MemoryStream();
        var sink = new GzipBodySink(body);
        writes(sink);
        if (complete)
        {
            sink.Complete(length);
        }
        else
        {
            sink.Abandon();
        }

        var members = sink.ZeroMembers;
        return (body.ToArray(), members);
    }

    private static void Disk(GzipBodySink sink)
    {
        // data, 3 MiB + 4 KiB of zeros announced in two pieces, data, a short zero run, data.
        sink.WriteData(0, Data);
        sink.WriteZeros(Data.Length, 2L << 20);
        sink.WriteZeros(Data.Length + (2L << 20), (1L << 20) + 4096);
        sink.WriteData(Data.Length + (3L << 20) + 4096, Data);
        sink.WriteZeros((2 * Data.Length) + (3L << 20) + 4096, 8192);
        sink.WriteData((2 * Data.Length) + (3L << 20) + 12288, Data);
    }

    private static byte[] Expected()
    {
        var disk = new byte[(3 * Data.Length) + (3L << 20) + 12288];
        Data.CopyTo(disk, 0);
        Data.CopyTo(disk, Data.Length + (3 << 20) + 4096);
        Data.CopyTo(disk, (2 * Data.Length) + (3 << 20) + 12288);
        return disk;
    }

    [Fact]
    public void Zero_runs_become_prepared_members_and_the_stream_reads_back_as_the_disk_in_dotnet_gzip_and_the_engine()
    {
        var expected = Expected();
        var (body, zeroMembers) = Write(Disk, expected.Length);

        using var dotnet = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var copy = new MemoryStream();
        dotnet.CopyTo(copy);
        using var opened = ImageOpener.Open(LayerInput.FromStream(new MemoryStream(body)), new ImageOpenOptions());
        using var engine = new MemoryStream();
        ImageConverter.Convert(opened, new StreamSink(engine, leaveOpen: true));

        Assert.Equal(3, zeroMembers);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(copy.ToArray()));
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(engine.ToArray()));
        Assert.True(body.Length < 16 << 10, $"{body.Length} bytes for 3 MiB of zeros and 36 KiB of data");
    }

    [Fact]
    public void Gnu_gzip_reads_the_members_as_one_stream()
    {
        using var work = new TemporaryDirectory();
        var expected = Expected();
        File.WriteAllBytes(work.File("body.gz"), Write(Disk, expected.Length).Body);

        ExternalTool.Run("gzip", "-t", work.File("body.gz"));
        ExternalTool.Shell($"gzip -dc '{work.File("body.gz")}' > '{work.File("disk")}'");

        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(File.ReadAllBytes(work.File("disk"))));
    }

    [Fact]
    public void A_disk_of_zeros_only_is_prepared_members_and_an_empty_disk_is_one_empty_member()
    {
        var (zeros, members) = Write(s => s.WriteZeros(0, 5L << 20), 5L << 20);
        var (empty, none) = Write(_ => { }, 0);

        using var read = new GZipStream(new MemoryStream(zeros), CompressionMode.Decompress);
        var length = 0L;
        var buffer = new byte[1 << 20];
        for (int n; (n = read.Read(buffer)) > 0;)
        {
            Assert.True(buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0);
            length += n;
        }

        Assert.Equal(5, members);
        Assert.Equal(5L << 20, length);
        Assert.Equal(0, none);
        using var work = new TemporaryDirectory();
        File.WriteAllBytes(work.File("empty.gz"), empty);
        ExternalTool.Run("gzip", "-t", work.File("empty.gz"));
        Assert.Empty(new GZipStream(new MemoryStream(empty), CompressionMode.Decompress).ReadAllBytes());
    }

    [Theory]
    [InlineData("nothing written")]
    [InlineData("data written")]
    [InlineData("data, zero members, data")]
    public void An_abandoned_body_never_passes_for_a_whole_gzip_stream(string state)
    {
        using var work = new TemporaryDirectory();
        var (body, _) = Write(
            s =>
            {
                if (state != "nothing written")
                {
                    s.WriteData(0, Data);
                }

                if (state == "data, zero members, data")
                {
                    s.WriteZeros(Data.Length, 2L << 20);
                    s.WriteData(Data.Length + (2L << 20), Data.AsSpan(0, 4096));
                }
            },
            0,
            complete: false);
        File.WriteAllBytes(work.File("cut.gz"), body);

        var refusal = Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("gzip", "-t", work.File("cut.gz")));

        Assert.True(body.Length >= 2);
        Assert.Contains("unexpected end of file", refusal.Message);
    }
}

internal static class StreamReading
{
    public static byte[] ReadAllBytes(this Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
