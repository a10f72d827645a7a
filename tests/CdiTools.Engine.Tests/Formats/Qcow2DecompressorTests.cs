using System.IO.Compression;
using CdiTools.Engine.Formats.Qcow2;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// A compressed qcow2 cluster decodes the same whichever decoder runs (libdeflate, zlib, the
/// managed inflater), and is accepted or refused as qemu's zlib accepts or refuses it.
/// </summary>
public sealed class Qcow2DecompressorTests
{
    private const int ClusterSize = 65536;

    public static TheoryData<string> Decoders => ["native", "managed"];

    [Fact]
    public void Libdeflate_decodes_deflate_clusters_where_the_system_has_it()
    {
        Assert.True(Native.LibDeflate.IsAvailable, "build.ps1 Test installs libdeflate0; the engine should load it");
        using var decompressor = Qcow2Decompressor.Create(compressionType: 0, preferNative: true);

        Assert.Equal("LibDeflateClusterDecompressor", decompressor.GetType().Name);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void A_stream_that_reaches_back_further_than_4_KiB_decodes_as_qemus_zlib_decodes_it(string decoder)
    {
        // A random 5000-byte block repeated: every match lies 5000 bytes back, beyond the -12
        // window qemu gives zlib, yet inside the cluster zlib decodes into in one call.
        var block = new byte[5000];
        new Random(7).NextBytes(block);
        var cluster = new byte[ClusterSize];
        for (var at = 0; at < ClusterSize; at += block.Length)
        {
            block.AsSpan(0, Math.Min(block.Length, ClusterSize - at)).CopyTo(cluster.AsSpan(at));
        }

        var input = Deflate(cluster);
        var byZlib = new byte[ClusterSize];
        using (var zlib = new Native.ZlibInflater(-12))
        {
            Assert.Equal(Native.Zlib.StreamEnd, zlib.Inflate(input, byZlib, out _, out var produced));
            Assert.Equal(ClusterSize, produced);
        }

        Assert.Equal(cluster, byZlib);
        Assert.Equal(cluster, Decode(decoder, input));
    }

    [Fact]
    public void Libdeflate_itself_fills_a_whole_cluster_and_leaves_a_short_stream_to_zlib()
    {
        Assert.True(Native.LibDeflate.IsAvailable, "build.ps1 Test installs libdeflate0");
        var cluster = Pattern(ClusterSize);
        var output = new byte[ClusterSize];
        using var libdeflate = new Native.LibDeflateDecompressor();

        Assert.True(libdeflate.TryInflateExactly(Deflate(cluster, trailing: 300), output));
        Assert.Equal(cluster, output);
        Assert.False(libdeflate.TryInflateExactly(Deflate(Pattern(ClusterSize - 512)), output));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void A_cluster_decodes_to_exactly_its_bytes_with_whatever_follows_the_stream_ignored(string decoder)
    {
        var cluster = Pattern(ClusterSize);
        var input = Deflate(cluster, trailing: 700);

        Assert.Equal(cluster, Decode(decoder, input));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void A_stream_that_holds_more_than_a_cluster_fills_the_cluster_as_qemu_accepts_it(string decoder)
    {
        var data = Pattern(2 * ClusterSize);

        Assert.Equal(data.AsSpan(0, ClusterSize).ToArray(), Decode(decoder, Deflate(data)));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void A_stream_that_ends_short_of_a_cluster_is_refused(string decoder)
    {
        var error = Assert.Throws<ImageException>(() => Decode(decoder, Deflate(Pattern(ClusterSize - 512))));

        Assert.Equal("Qcow2CompressedClusterCorrupt", error.ErrorId);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Damaged_data_is_refused(string decoder)
    {
        var input = Deflate(Pattern(ClusterSize));
        input[input.Length / 2] ^= 0xFF;
        input[(input.Length / 2) + 1] ^= 0x5A;

        var error = Assert.Throws<ImageException>(() => Decode(decoder, input));

        Assert.Equal("Qcow2CompressedClusterCorrupt", error.ErrorId);
    }

    private static byte[] Decode(string decoder, byte[] input)
    {
        using var decompressor = Qcow2Decompressor.Create(compressionType: 0, preferNative: decoder == "native");
        var output = new byte[ClusterSize];
        decompressor.Decompress(input, 0, input.Length, output, hostOffset: 0x50000);
        return output;
    }

    // Compressible but not trivial: text-like runs with a varying byte.
    private static byte[] Pattern(int length) =>
        [.. Enumerable.Range(0, length).Select(i => (byte)((i / 7 % 26) + 'a' + (i / 4099 % 3)))];

    private static byte[] Deflate(byte[] data, int trailing = 0)
    {
        using var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }

        buffer.Write(new byte[trailing].Select((_, i) => (byte)(i * 31)).ToArray());
        return buffer.ToArray();
    }
}
