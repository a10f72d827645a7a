namespace CdiTools.Engine.Formats;

/// <summary>
/// Formats qemu-img reads that CDI does not import, with the magics qemu's probes use (block/bochs.c,
/// parallels.c, cloop.c, qed.c, crypto/luks and dmg.c). They are recognised only to be refused:
/// taken as raw they would make a disk of their container bytes.
/// </summary>
internal static class RefusedFormats
{
    public static IReadOnlyList<LayerFormat> All { get; } =
    [
        Refused("bochs", static head => head.StartsWith("Bochs Virtual HD Image\0"u8)),
        Refused("parallels", static head => head.StartsWith("WithoutFreeSpace"u8) || head.StartsWith("WithouFreSpacExt"u8)),
        Refused("cloop", static head => head.StartsWith("#!/bin/sh\n#V2.0 Format\n"u8)),
        Refused("qed", static head => head.StartsWith("QED\0"u8)),
        Refused("luks", static head => head.StartsWith((ReadOnlySpan<byte>)[(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE])),

        // An Apple disk image ends in its "koly" trailer; only a source whose end can be read first shows it.
        new() { Name = "dmg", Role = LayerRole.Refused, Tail = static (last512, _) => last512.Length == 512 && last512.StartsWith("koly"u8) },
    ];

    private static LayerFormat Refused(string name, HeadProbe head) => new() { Name = name, Role = LayerRole.Refused, Head = head };
}
