using CdiTools.Engine.Layers.Tar;
using static CdiTools.Engine.Tests.Layers.Tar.TarTestIo;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>Truncated and damaged archives are refused with their own error ids, read either way.</summary>
public sealed class TarDamageTests : IDisposable
{
    private readonly TarWorkspace workspace = new();
    private readonly byte[] archive;

    public TarDamageTests()
    {
        // a.img: header at 0, data 512..100_512; b.img: header at 100_864, data to 101_376 + 3000.
        workspace.WriteFile("a.img", 100_000, 1);
        workspace.WriteFile("b.img", 3000, 2);
        archive = workspace.TarBytes("a.tar", ["--format=ustar"], "a.img", "b.img");
    }

    private static long BHeader => 512 + 100_352;

    private static long End => BHeader + 512 + 3072;

    public void Dispose() => workspace.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_cut_inside_data_is_truncated(bool forward)
    {
        var refusal = OpenAndReadFails(Input(archive[..50_000], forward));

        Assert.Equal("TarTruncated", refusal.ErrorId);
        Assert.Contains("'a.img'", refusal.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_cut_inside_a_header_is_truncated(bool forward)
    {
        Assert.Equal((byte)'b', archive[BHeader]);

        var refusal = OpenAndReadFails(Input(archive[..(int)(BHeader + 200)], forward));

        Assert.Equal("TarTruncated", refusal.ErrorId);
        Assert.Equal(BHeader, refusal.Offset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_cut_between_members_is_truncated(bool forward)
    {
        var refusal = OpenAndReadFails(Input(archive[..(int)End], forward));

        Assert.Equal("TarTruncated", refusal.ErrorId);
        Assert.Contains("end-of-archive", refusal.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_cut_after_its_first_end_block_is_whole(bool forward)
    {
        Assert.True(archive.Length > End + 1024);

        var (_, choice, length) = OpenAndHash(Input(archive[..(int)(End + 512)], forward));

        Assert.Equal("a.img", choice.Name);
        Assert.Equal(100_000, length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_header_with_a_wrong_checksum_is_corrupt(bool forward)
    {
        var damaged = (byte[])archive.Clone();
        damaged[3] ^= 0x20;

        var refusal = Refusal(() => TarLayer.Open(Input(damaged, forward)));

        Assert.Equal("TarCorrupt", refusal.ErrorId);
        Assert.Contains("checksum", refusal.Message);
        Assert.Equal(0, refusal.Offset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_later_header_with_a_wrong_checksum_is_corrupt(bool forward)
    {
        var damaged = (byte[])archive.Clone();
        damaged[BHeader + 300] ^= 1;

        var refusal = OpenAndReadFails(Input(damaged, forward));

        Assert.Equal("TarCorrupt", refusal.ErrorId);
        Assert.Equal(BHeader, refusal.Offset);
    }

    [Fact]
    public void A_size_that_is_not_octal_is_corrupt()
    {
        var header = TarBlocks.Header("disk.img", 0, '0');
        "0000000009\0"u8.CopyTo(header.AsSpan(124));
        TarBlocks.SetChecksum(header);

        var refusal = Refusal(() => TarLayer.Open(RandomInput([.. header, .. TarBlocks.End])));

        Assert.Equal("TarCorrupt", refusal.ErrorId);
        Assert.Contains("size", refusal.Message);
    }

    [Fact]
    public void A_pax_header_with_nothing_after_it_is_corrupt()
    {
        var refusal = Refusal(() => TarLayer.Open(RandomInput([.. TarBlocks.Pax(("path", "disk.img")), .. TarBlocks.End])));

        Assert.Equal("TarCorrupt", refusal.ErrorId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_cut_inside_a_gnu_sparse_map_is_truncated(bool forward)
    {
        workspace.WriteSparse("s/vm.img", 8 << 20, [.. Enumerable.Range(0, 6).Select(i => ((long)i << 20, 4096))]);
        var sparse = workspace.TarBytes("s.tar", ["--format=gnu", "--sparse", "-C", "s"], "vm.img");
        Assert.Equal(1, sparse[482]);

        var refusal = OpenAndReadFails(Input(sparse[..700], forward));

        Assert.Equal("TarTruncated", refusal.ErrorId);
        Assert.Contains("sparse map", refusal.Message);
    }
}
