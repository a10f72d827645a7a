namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>How <see cref="VhdxLayout"/> reads the parts of a VHDX file it parses, whether the file is read at random or forward once.</summary>
internal interface IVhdxFile
{
    /// <summary>The file's length when it is known before reading it all.</summary>
    long? Length { get; }

    /// <summary>
    /// The file's bytes [offset, offset + length) as stored, bytes past the end read as zeros (as
    /// qemu reads them); <c>Available</c> says how many were really in the file.
    /// </summary>
    (byte[] Data, int Available) ReadRegion(long offset, int length);

    /// <summary>Tells where a region of structure lies as soon as it is known, and whether it will be read.</summary>
    void Announce(long offset, long length, bool willRead);
}
