namespace CdiTools.Engine.Formats;

/// <summary>
/// A format driver: knows, for every range of the guest disk, whether it is data (and where its
/// bytes are), zero or unallocated, and writes the disk in order to a <see cref="RawOutput"/>.
/// </summary>
internal interface IImageDriver : IDisposable
{
    ImageDetails Details { get; }

    /// <summary>Bytes kept in a scratch file because they arrived before the metadata that maps them.</summary>
    long ScratchBytes { get; }

    /// <summary>The most disk data held at once because it arrived before it could be written (memory and scratch).</summary>
    long KeptBytes { get; }

    /// <summary>
    /// Why the disk cannot be converted, found while opening (a parent or backing file, an
    /// external data file, encryption); null when it can. The image can still be described, and
    /// <see cref="ImageConverter"/> throws this before anything is written.
    /// </summary>
    ImageException? Refusal => null;

    /// <summary>Writes the whole disk, in order; called only when <see cref="Refusal"/> is null.</summary>
    void Convert(RawOutput output, CancellationToken cancellationToken);
}
