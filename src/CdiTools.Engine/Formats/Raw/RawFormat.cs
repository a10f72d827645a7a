namespace CdiTools.Engine.Formats.Raw;

/// <summary>Raw in <see cref="LayerFormats"/>: whatever no other format claims, as qemu-img and CDI take it.</summary>
internal static class RawFormat
{
    public static LayerFormat Registration { get; } = new()
    {
        Name = "raw",
        Role = LayerRole.Disk,
        Extensions = [".raw", ".iso"],
        Open = static opening => new RawDriver(opening.Input),
    };
}
