namespace CdiTools.Engine.Layers;

/// <summary>
/// Tells a layer's kind from its magic bytes, as CDI's importer sniffs them (pkg/image/filefmt.go);
/// anything unrecognised is raw. A fixed VHD has its cookie at the end, not the start, so it is raw here too.
/// </summary>
public static class LayerDetector
{
    /// <summary>How many leading bytes <see cref="Detect"/> looks at.</summary>
    public const int HeadLength = 512;

    public static LayerKind Detect(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            return LayerKind.Gzip;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]))
        {
            return LayerKind.Xz;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]) || IsSkippableZstdFrame(head))
        {
            return LayerKind.Zstd;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[(byte)'Q', (byte)'F', (byte)'I', 0xFB]))
        {
            return LayerKind.Qcow2;
        }

        if (head.StartsWith("KDMV"u8))
        {
            return LayerKind.Vmdk;
        }

        if (head.StartsWith("conectix"u8))
        {
            return LayerKind.Vhd;
        }

        if (head.StartsWith("vhdxfile"u8))
        {
            return LayerKind.Vhdx;
        }

        if (head.Length >= 0x44 && head.Slice(0x40, 4).SequenceEqual((ReadOnlySpan<byte>)[0x7F, 0x10, 0xDA, 0xBE]))
        {
            return LayerKind.Vdi;
        }

        if (head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            return LayerKind.Tar;
        }

        return DetectRefused(head);
    }

    /// <summary>
    /// A format told by the last 512 bytes of a file: an Apple disk image (DMG) ends in its "koly"
    /// trailer. Only a random-access source shows its end before the data; anything else is raw.
    /// </summary>
    public static LayerKind DetectTrailer(ReadOnlySpan<byte> last512) =>
        last512.Length == 512 && last512.StartsWith("koly"u8) ? LayerKind.Dmg : LayerKind.Raw;

    // The magics qemu's probes use (block/bochs.c, parallels.c, cloop.c, qed.c, crypto/luks).
    private static LayerKind DetectRefused(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("Bochs Virtual HD Image\0"u8))
        {
            return LayerKind.Bochs;
        }

        if (head.StartsWith("WithoutFreeSpace"u8) || head.StartsWith("WithouFreSpacExt"u8))
        {
            return LayerKind.Parallels;
        }

        if (head.StartsWith("#!/bin/sh\n#V2.0 Format\n"u8))
        {
            return LayerKind.Cloop;
        }

        if (head.StartsWith("QED\0"u8))
        {
            return LayerKind.Qed;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE]))
        {
            return LayerKind.Luks;
        }

        return LayerKind.Raw;
    }

    // A zstd stream may open with a skippable frame (magic 0x184D2A50..5F, little-endian).
    private static bool IsSkippableZstdFrame(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && (head[0] & 0xF0) == 0x50 && head[1] == 0x2A && head[2] == 0x4D && head[3] == 0x18;
}
