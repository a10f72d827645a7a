using CdiTools.Engine.Formats;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>The probes of the format table tell each layer by its magic, in the order CDI sniffs them.</summary>
public sealed class LayerFormatsTests
{
    private static byte[] Head(params (int Offset, byte[] Bytes)[] parts)
    {
        var head = new byte[LayerFormats.HeadLength];
        foreach (var (offset, bytes) in parts)
        {
            bytes.CopyTo(head, offset);
        }

        return head;
    }

    [Theory]
    [InlineData(new byte[] { 0x1F, 0x8B, 0x08 }, 0, "gzip")]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 }, 0, "xz")]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, 0, "zstd")]
    [InlineData(new byte[] { 0x50, 0x2A, 0x4D, 0x18 }, 0, "zstd")]
    [InlineData(new byte[] { 0x5E, 0x2A, 0x4D, 0x18 }, 0, "zstd")]
    [InlineData(new byte[] { (byte)'Q', (byte)'F', (byte)'I', 0xFB }, 0, "qcow2")]
    [InlineData(new byte[] { (byte)'K', (byte)'D', (byte)'M', (byte)'V' }, 0, "vmdk")]
    [InlineData(new byte[] { (byte)'c', (byte)'o', (byte)'n', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'x' }, 0, "vpc")]
    [InlineData(new byte[] { (byte)'v', (byte)'h', (byte)'d', (byte)'x', (byte)'f', (byte)'i', (byte)'l', (byte)'e' }, 0, "vhdx")]
    [InlineData(new byte[] { 0x7F, 0x10, 0xDA, 0xBE }, 0x40, "vdi")]
    [InlineData(new byte[] { (byte)'u', (byte)'s', (byte)'t', (byte)'a', (byte)'r' }, 257, "tar")]
    public void Recognises_each_magic_at_its_offset(byte[] magic, int offset, string kind)
    {
        Assert.Equal(kind, LayerFormats.Detect(Head((offset, magic))).Name);
    }

    [Theory]
    [InlineData("Bochs Virtual HD Image\0", "bochs")]
    [InlineData("WithoutFreeSpace", "parallels")]
    [InlineData("WithouFreSpacExt", "parallels")]
    [InlineData("#!/bin/sh\n#V2.0 Format\nmodprobe cloop", "cloop")]
    [InlineData("QED\0", "qed")]
    [InlineData("LUKS\u00BA\u00BE", "luks")]
    public void Recognises_formats_cdi_does_not_import_so_they_are_refused_rather_than_taken_as_raw(string magic, string kind)
    {
        Assert.Equal(kind, LayerFormats.Detect(Head((0, System.Text.Encoding.Latin1.GetBytes(magic)))).Name);
        Assert.Equal("raw", LayerFormats.Detect(Head((1, System.Text.Encoding.Latin1.GetBytes(magic)))).Name);
    }

    [Fact]
    public void A_dmg_is_told_by_its_trailer_and_nothing_else_is()
    {
        var trailer = new byte[512];
        "koly"u8.CopyTo(trailer);

        Assert.Equal("dmg", LayerFormats.DetectTail(trailer, 1 << 20)?.Name);
        Assert.Null(LayerFormats.DetectTail(new byte[512], 1 << 20));
        Assert.Null(LayerFormats.DetectTail(trailer.AsSpan(0, 100), 1 << 20));
        Assert.Equal("raw", LayerFormats.Detect(trailer).Name);
    }

    [Fact]
    public void Anything_else_is_raw_including_an_mbr_and_a_short_or_empty_head()
    {
        var mbr = Head((510, [0x55, 0xAA]));

        Assert.Equal("raw", LayerFormats.Detect(mbr).Name);
        Assert.Equal("raw", LayerFormats.Detect([]).Name);
        Assert.Equal("raw", LayerFormats.Detect([0x1F]).Name);
        Assert.Equal("raw", LayerFormats.Detect(Head((0, "QFI"u8.ToArray()))).Name);
    }

    [Fact]
    public void A_vdi_or_tar_magic_beyond_a_short_head_is_not_read()
    {
        Assert.Equal("raw", LayerFormats.Detect(new byte[0x42]).Name);
        Assert.Equal("raw", LayerFormats.Detect(new byte[260]).Name);
    }

    [Fact]
    public void Every_format_is_registered_once_with_what_its_role_needs()
    {
        Assert.Equal(LayerFormats.All.Count, LayerFormats.All.Select(f => f.Name).Distinct().Count());
        Assert.Equal(LayerFormats.Raw, LayerFormats.All[^1]);
        Assert.All(LayerFormats.All, format =>
        {
            Assert.True((format.Peel is not null) == (format.Role == LayerRole.Wrapper), $"{format}: a wrapper, and only a wrapper, peels");
            Assert.True((format.Open is not null) == (format.Role == LayerRole.Disk), $"{format}: a disk format, and only a disk format, opens");
            Assert.True(format.Head is not null || format.Tail is not null || format == LayerFormats.Raw, $"{format}: only raw is told by nothing");
            Assert.All(format.Extensions, e => Assert.StartsWith(".", e, StringComparison.Ordinal));
        });
        var extensions = LayerFormats.All.SelectMany(f => f.Extensions).ToList();
        Assert.Equal(extensions.Count, extensions.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.DoesNotContain(LayerFormats.AnyFormatExtension, extensions);
    }

    [Theory]
    [InlineData("xz (liblzma 5.4.1)", "xz")]
    [InlineData("tar (disk/disk.img: the largest file under disk/)", "tar")]
    [InlineData("vpc", "vhd")]
    [InlineData("QCOW2", "qcow2")]
    public void A_format_chain_entry_names_its_registration(string entry, string commonName)
    {
        Assert.Equal(commonName, LayerFormats.Named(entry)?.CommonName);
        Assert.Null(LayerFormats.Named("cpio"));
    }

    [Fact]
    public void Every_registered_extension_names_its_format_and_comes_off_an_output_name()
    {
        foreach (var format in LayerFormats.All.Where(f => f.Role != LayerRole.Refused))
        {
            foreach (var extension in format.Extensions)
            {
                Assert.Equal("disk", LocalImport.BaseName("disk" + extension + ".xz"));
                Assert.Equal(["xz", format.CommonName], ImageNaming.ClaimedLayers("disk" + extension + ".xz"));
            }
        }

        Assert.Equal("disk", LocalImport.BaseName("disk" + LayerFormats.AnyFormatExtension));
        Assert.Empty(ImageNaming.ClaimedLayers("disk" + LayerFormats.AnyFormatExtension));
    }
}
