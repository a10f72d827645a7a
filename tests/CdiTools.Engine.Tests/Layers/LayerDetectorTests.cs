using CdiTools.Engine.Layers;

namespace CdiTools.Engine.Tests.Layers;

public sealed class LayerDetectorTests
{
    private static byte[] Head(params (int Offset, byte[] Bytes)[] parts)
    {
        var head = new byte[LayerDetector.HeadLength];
        foreach (var (offset, bytes) in parts)
        {
            bytes.CopyTo(head, offset);
        }

        return head;
    }

    [Theory]
    [InlineData(new byte[] { 0x1F, 0x8B, 0x08 }, 0, LayerKind.Gzip)]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 }, 0, LayerKind.Xz)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, 0, LayerKind.Zstd)]
    [InlineData(new byte[] { 0x50, 0x2A, 0x4D, 0x18 }, 0, LayerKind.Zstd)]
    [InlineData(new byte[] { 0x5E, 0x2A, 0x4D, 0x18 }, 0, LayerKind.Zstd)]
    [InlineData(new byte[] { (byte)'Q', (byte)'F', (byte)'I', 0xFB }, 0, LayerKind.Qcow2)]
    [InlineData(new byte[] { (byte)'K', (byte)'D', (byte)'M', (byte)'V' }, 0, LayerKind.Vmdk)]
    [InlineData(new byte[] { (byte)'c', (byte)'o', (byte)'n', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'x' }, 0, LayerKind.Vhd)]
    [InlineData(new byte[] { (byte)'v', (byte)'h', (byte)'d', (byte)'x', (byte)'f', (byte)'i', (byte)'l', (byte)'e' }, 0, LayerKind.Vhdx)]
    [InlineData(new byte[] { 0x7F, 0x10, 0xDA, 0xBE }, 0x40, LayerKind.Vdi)]
    [InlineData(new byte[] { (byte)'u', (byte)'s', (byte)'t', (byte)'a', (byte)'r' }, 257, LayerKind.Tar)]
    public void Recognises_each_magic_at_its_offset(byte[] magic, int offset, LayerKind kind)
    {
        Assert.Equal(kind, LayerDetector.Detect(Head((offset, magic))));
    }

    [Theory]
    [InlineData("Bochs Virtual HD Image\0", LayerKind.Bochs)]
    [InlineData("WithoutFreeSpace", LayerKind.Parallels)]
    [InlineData("WithouFreSpacExt", LayerKind.Parallels)]
    [InlineData("#!/bin/sh\n#V2.0 Format\nmodprobe cloop", LayerKind.Cloop)]
    [InlineData("QED\0", LayerKind.Qed)]
    [InlineData("LUKS\u00BA\u00BE", LayerKind.Luks)]
    public void Recognises_formats_cdi_does_not_import_so_they_are_refused_rather_than_taken_as_raw(string magic, LayerKind kind)
    {
        Assert.Equal(kind, LayerDetector.Detect(Head((0, System.Text.Encoding.Latin1.GetBytes(magic)))));
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect(Head((1, System.Text.Encoding.Latin1.GetBytes(magic)))));
    }

    [Fact]
    public void A_dmg_is_told_by_its_trailer_and_nothing_else_is()
    {
        var trailer = new byte[512];
        "koly"u8.CopyTo(trailer);

        Assert.Equal(LayerKind.Dmg, LayerDetector.DetectTrailer(trailer));
        Assert.Equal(LayerKind.Raw, LayerDetector.DetectTrailer(new byte[512]));
        Assert.Equal(LayerKind.Raw, LayerDetector.DetectTrailer(trailer.AsSpan(0, 100)));
    }

    [Fact]
    public void Anything_else_is_raw_including_an_mbr_and_a_short_or_empty_head()
    {
        var mbr = Head((510, [0x55, 0xAA]));

        Assert.Equal(LayerKind.Raw, LayerDetector.Detect(mbr));
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect([]));
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect([0x1F]));
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect(Head((0, "QFI"u8.ToArray()))));
    }

    [Fact]
    public void A_vdi_or_tar_magic_beyond_a_short_head_is_not_read()
    {
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect(new byte[0x42]));
        Assert.Equal(LayerKind.Raw, LayerDetector.Detect(new byte[260]));
    }
}
