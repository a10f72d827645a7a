namespace CdiTools.Engine;

/// <summary>How to open an image: decoders, limits, and where data may spill.</summary>
public sealed record ImageOpenOptions
{
    /// <summary>
    /// Decode with the system's liblzma, zlib and libzstd where they load (faster; zlib and libzstd
    /// also tell a truncated stream from a finished one); false uses the managed decoders only.
    /// </summary>
    public bool PreferNativeDecoders { get; init; } = true;

    /// <summary>
    /// Memory a forward-only qcow2 reader may hold for data that arrives before the table that
    /// maps it, or before the disk needs it; beyond this it spills to a scratch file.
    /// </summary>
    public long MemoryBudget { get; init; } = 64L << 20;

    /// <summary>Where a forward-only reader's scratch file goes; the system's temporary folder when null.</summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>
    /// The checksum the outermost input, the file as it is stored, must have (as published beside
    /// an image). Reading then goes forward through the whole input, so the check costs no second pass.
    /// </summary>
    public ImageChecksum? ExpectedChecksum { get; init; }

    /// <summary>How many wrapper layers (gz in tar in xz ...) may be peeled before the format.</summary>
    public int MaxLayers { get; init; } = 8;
}
