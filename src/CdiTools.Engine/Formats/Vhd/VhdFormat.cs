namespace CdiTools.Engine.Formats.Vhd;

/// <summary>
/// VHD (qemu's "vpc") in <see cref="LayerFormats"/>: a dynamic disk opens with a copy of its footer
/// ("conectix" at 0); a fixed disk has only the footer at its end, so it is told by its last 512
/// bytes where those can be read first (see <see cref="VhdFixedDriver"/>).
/// </summary>
internal static class VhdFormat
{
    public static LayerFormat Registration { get; } = new()
    {
        Name = "vpc",
        CommonName = "vhd",
        Role = LayerRole.Disk,
        Extensions = [".vhd"],
        Head = static head => head.StartsWith("conectix"u8),
        Tail = static (last512, length) => VhdFixedDriver.FindFooter(last512, length) is not null,
        Open = Open,
    };

    private static IImageDriver Open(DiskOpening opening)
    {
        var input = opening.Input;
        if (opening.Tail is not { } tail)
        {
            return VhdDynamicDriver.Open(input, opening.Options);
        }

        var footer = VhdFixedDriver.FindFooter(tail.Bytes, tail.Length)!.Value;
        return VhdFixedDriver.Open(input, footer, tail.Length);
    }
}
