namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>qcow2 (versions 2 and 3) in <see cref="LayerFormats"/>: "QFI\xFB" at 0.</summary>
internal static class Qcow2Format
{
    public static LayerFormat Registration { get; } = new()
    {
        Name = "qcow2",
        Role = LayerRole.Disk,
        Extensions = [".qcow2", ".qcow"],
        Head = static head => head.StartsWith((ReadOnlySpan<byte>)[(byte)'Q', (byte)'F', (byte)'I', 0xFB]),
        Open = Open,
    };

    private static IImageDriver Open(DiskOpening opening)
    {
        if (opening.Input.Random is { } random)
        {
            // The header and its extensions lie in the first cluster, whose size the header's start gives.
            var cluster0 = new byte[Qcow2Header.RequiredLength(opening.Head)];
            var read = random.ReadAt(0, cluster0);
            return new Qcow2RandomDriver(random, Qcow2Header.Parse(cluster0.AsSpan(0, read), random.Length), opening.Options.PreferNativeDecoders);
        }

        return new Qcow2StreamDriver(opening.Input.Forward!, opening.Input.Length, opening.Options);
    }
}
