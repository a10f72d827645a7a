namespace CdiTools.Engine.Sources;

/// <summary>Reads of metadata that must be whole: a table or header cut off by the end of the file is the format's truncation error.</summary>
internal static class RandomAccessReads
{
    /// <param name="error">The format's error for a structure beyond the end of the file.</param>
    /// <param name="what">The structure, as the message names it ("an L2 table").</param>
    /// <param name="subject">The file, as the message names it ("The image", "The extent 'a.vmdk'").</param>
    public static void ReadExactly(this IRandomAccessSource source, long offset, Span<byte> destination, ImageError error, string what, string subject = "The image")
    {
        var read = source.ReadAt(offset, destination);
        if (read != destination.Length)
        {
            throw EndsInside(error, what, offset, read, destination.Length, subject);
        }
    }

    /// <summary>The error for a structure of <paramref name="length"/> bytes at <paramref name="offset"/> of which the file holds only <paramref name="read"/>.</summary>
    public static ImageException EndsInside(ImageError error, string what, long offset, int read, int length, string subject = "The image") =>
        new(error, $"{subject} ends inside {what} at 0x{offset:X}: {read} of {length} bytes.", offset + read);
}
