namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>VHDX in <see cref="LayerFormats"/>: "vhdxfile" at 0.</summary>
internal static class VhdxFormat
{
    public static LayerFormat Registration { get; } = new()
    {
        Name = "vhdx",
        Role = LayerRole.Disk,
        Extensions = [".vhdx"],
        Head = static head => head.StartsWith("vhdxfile"u8),
        Open = static opening => opening.Input.Random is { } random
            ? new VhdxRandomDriver(random)
            : new VhdxStreamDriver(opening.Input.Forward!, opening.Input.Length, opening.Options),
    };
}
