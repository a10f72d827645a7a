namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>What both qcow2 readers share: how an image's header becomes <see cref="ImageDetails"/>.</summary>
internal static class Qcow2Details
{
    public static ImageDetails From(Qcow2Header header, long? fileLength) => new()
    {
        Format = "qcow2",
        VirtualSize = header.VirtualSize,
        Version = header.Version,
        ClusterSize = header.ClusterSize,
        CompressionType = header.CompressionType == 1 ? "zstd" : "deflate",
        Features = header.Features,
        BackingFile = header.BackingFile,
        BackingFormat = header.BackingFormat,
        DataFile = header.DataFile,
        Encryption = header.CryptMethod switch { 0 => null, 1 => "aes", 2 => "luks", _ => $"method {header.CryptMethod}" },
        Snapshots = header.SnapshotCount,
        FileLength = fileLength,
    };
}
