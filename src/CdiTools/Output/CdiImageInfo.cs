using CdiTools.Cluster.Sizing;

namespace CdiTools;

/// <summary>
/// What Get-CdiImageInfo found out about an image: its layers and format, its disk's size and
/// features, and how large a PVC CDI needs for it.
/// </summary>
/// <remarks>A view over the cluster layer's record, held by reference (see <see cref="CdiSupportEntry"/>).</remarks>
public sealed class CdiImageInfo
{
    private readonly ImageSizing sizing;

    internal CdiImageInfo(ImageSizing sizing) => this.sizing = sizing;

    public string Source => sizing.Image.Source;

    /// <summary>The format of the innermost layer, as qemu-img names it: raw, qcow2, vmdk, vpc (VHD), vhdx, vdi.</summary>
    public string Format => sizing.Image.Details.Format;

    /// <summary>The variant within the format: monolithicSparse, streamOptimized, fixed, dynamic, static.</summary>
    public string? Subformat => sizing.Image.Details.Subformat;

    /// <summary>What the conversion does that the reader of the result should know, such as a fixed VHD's footer left out.</summary>
    public CdiTextList Notes => new(sizing.Image.Details.Notes);

    /// <summary>What to be warned of, such as a file name that says another format than the content.</summary>
    public CdiTextList Warnings => new(sizing.Image.Warnings);

    /// <summary>The layers from the outside in.</summary>
    public string[] FormatChain => [.. sizing.Image.FormatChain];

    /// <summary>The size of the disk inside.</summary>
    public long VirtualSize => sizing.Image.VirtualSize;

    /// <summary>True when the size was measured by decoding the whole image, because its format does not state it.</summary>
    public bool SizeMeasured => sizing.Image.SizeMeasured;

    /// <summary>The size of the image file (the outermost layer), where known.</summary>
    public long? FileSize => sizing.Image.InputLength;

    public int? Version => sizing.Image.Details.Version;

    public int? ClusterSize => sizing.Image.Details.ClusterSize;

    /// <summary>How compressed clusters are compressed (deflate, zstd), where the format has them.</summary>
    public string? CompressionType => sizing.Image.Details.CompressionType;

    public CdiTextList Features => new(sizing.Image.Details.Features, ", ");

    /// <summary>False when Import-CdiImage refuses the image (<see cref="RefusalId"/> says why) before writing anything.</summary>
    public bool CanImport => sizing.Image.RefusalId is null;

    /// <summary>The error id Import-CdiImage refuses the image with: Qcow2BackingFileNotSupported, VmdkParentNotSupported, ...</summary>
    public string? RefusalId => sizing.Image.RefusalId;

    /// <summary>Why Import-CdiImage refuses the image, and what to do instead.</summary>
    public string? Refusal => sizing.Image.Refusal;

    /// <summary>The backing file the image is an overlay on; Import-CdiImage refuses such images.</summary>
    public string? BackingFile => sizing.Image.Details.BackingFile;

    public string? BackingFormat => sizing.Image.Details.BackingFormat;

    public string? DataFile => sizing.Image.Details.DataFile;

    public string? Encryption => sizing.Image.Details.Encryption;

    public int Snapshots => sizing.Image.Details.Snapshots;

    public string? TarMember => sizing.Image.TarMember;

    /// <summary>The filesystem overhead the Filesystem PVC size allows for (CDI's default is 0.06).</summary>
    public double FilesystemOverhead => sizing.FilesystemOverhead;

    /// <summary>The bytes a Filesystem-mode PVC needs: the disk rounded up to 1 MiB plus the overhead.</summary>
    public long FilesystemPvcSize => sizing.FilesystemPvcBytes;

    /// <summary><see cref="FilesystemPvcSize"/> as a quantity for -Size or a manifest ("870Mi").</summary>
    public string FilesystemPvcQuantity => PvcSize.ToQuantity(sizing.FilesystemPvcBytes);

    /// <summary>The bytes a Block-mode PVC needs: the disk's size.</summary>
    public long BlockPvcSize => sizing.BlockPvcBytes;

    public string BlockPvcQuantity => PvcSize.ToQuantity(sizing.BlockPvcBytes);

    /// <inheritdoc />
    public override string ToString() => Source;
}
