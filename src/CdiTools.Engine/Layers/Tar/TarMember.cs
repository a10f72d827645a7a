namespace CdiTools.Engine.Layers.Tar;

/// <summary>How a sparse member's map is stored, which decides where its data starts.</summary>
internal enum TarSparseFormat
{
    None,

    /// <summary>Typeflag 'S': the map is in the header and the extension blocks after it.</summary>
    OldGnu,

    /// <summary>PAX 0.0: repeated GNU.sparse.offset / GNU.sparse.numbytes records.</summary>
    Pax00,

    /// <summary>PAX 0.1: one GNU.sparse.map record.</summary>
    Pax01,

    /// <summary>PAX 1.0: the map is text at the start of the member's data.</summary>
    Pax10,
}

/// <summary>One entry of a tar archive as far as choosing the disk needs it: headers only, never data.</summary>
/// <param name="Name">Normalised: no leading "./" or "/".</param>
/// <param name="HeaderOffset">Where the entry's first header (a pax or long-name header if it has one) starts.</param>
/// <param name="DataOffset">Where the stored bytes start, after any sparse extension blocks (and, once read, a PAX 1.0 map).</param>
/// <param name="StoredSize">How many bytes the archive stores from <paramref name="DataOffset"/>, before the block padding.</param>
/// <param name="RealSize">The member's size once holes are filled in; <paramref name="StoredSize"/> when it is not sparse.</param>
/// <param name="Map">The sparse map; null when the member is contiguous, or PAX 1.0 whose map has not been read yet.</param>
internal sealed record TarMember(
    string Name,
    char TypeFlag,
    bool IsRegular,
    long HeaderOffset,
    long DataOffset,
    long StoredSize,
    long RealSize,
    TarSparseFormat SparseFormat,
    TarSparseMap? Map)
{
    public bool IsSparse => SparseFormat != TarSparseFormat.None;

    public long NextHeaderOffset => DataOffset + TarHeaderReader.PadToBlock(StoredSize);
}
