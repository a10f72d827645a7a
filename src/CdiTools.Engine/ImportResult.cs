namespace CdiTools.Engine;

/// <summary>What a conversion did: layers, sizes, bytes moved and kept, time, and optionally the disk's hash.</summary>
public sealed record ImportResult
{
    /// <summary>The layers from the outside in, such as "xz (liblzma 5.4.1)", "qcow2".</summary>
    public required IReadOnlyList<string> FormatChain { get; init; }

    /// <summary>The size of the raw disk written.</summary>
    public required long VirtualSize { get; init; }

    /// <summary>Bytes of the outermost input read (less than its size when unallocated space was skipped).</summary>
    public required long BytesRead { get; init; }

    /// <summary>The raw disk's length: every byte, holes included.</summary>
    public required long BytesWritten { get; init; }

    /// <summary>Bytes the output really occupies (data blocks written; holes take none).</summary>
    public required long AllocatedBytes { get; init; }

    /// <summary>Bytes kept in a scratch file because they arrived before the metadata that maps them.</summary>
    public required long ScratchBytes { get; init; }

    /// <summary>The most disk data held at once because it arrived before it could be written (memory and scratch).</summary>
    public required long KeptBytes { get; init; }

    /// <summary>True when the format layer was read at random offsets, false when forward in one pass.</summary>
    public required bool RandomAccess { get; init; }

    /// <summary>The whole conversion, from opening the image to the disk being on stable storage.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>The part of <see cref="Duration"/> spent flushing the disk and its name to stable storage.</summary>
    public TimeSpan FlushDuration { get; init; }

    /// <summary>Disk bytes per second.</summary>
    public double Throughput => Duration.TotalSeconds > 0 ? BytesWritten / Duration.TotalSeconds : 0;

    /// <summary>The SHA-256 of the raw disk (lower-case hex), when it was asked for.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Things the conversion did that the reader of the result should know (the format driver's notes).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>What the user should be warned of, such as a file name that says another format than the content.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The tar member taken as the disk and why, when the image came in a tar.</summary>
    public string? TarMember { get; init; }
}
