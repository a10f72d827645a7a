namespace CdiTools.Engine.Formats.Vdi;

/// <summary>VirtualBox's VDI in <see cref="LayerFormats"/>: its signature 0xBEDA107F at 0x40.</summary>
internal static class VdiFormat
{
    public static LayerFormat Registration { get; } = new()
    {
        Name = "vdi",
        Role = LayerRole.Disk,
        Extensions = [".vdi"],
        Head = static head => head.Length >= 0x44 && head.Slice(0x40, 4).SequenceEqual((ReadOnlySpan<byte>)[0x7F, 0x10, 0xDA, 0xBE]),
        Open = static opening => VdiDriver.Open(opening.Input, opening.Options),
    };
}
