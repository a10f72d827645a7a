using System.Security.Cryptography;

namespace CdiTools.Engine.Sources;

/// <summary>
/// The outermost input read forward: counts the bytes for progress and, when asked, checks them
/// against an expected checksum at the end, before the conversion may complete.
/// </summary>
internal sealed class CountingStream : ForwardReadStream
{
    private readonly Stream inner;
    private readonly IncrementalHash? hash;
    private readonly ImageChecksum? expected;
    private bool verified;

    public CountingStream(Stream inner, ImageChecksum? expected)
    {
        this.inner = inner;
        this.expected = expected;
        hash = expected is null ? null : IncrementalHash.CreateHash(expected.HashAlgorithm);
    }

    public long BytesRead { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        BytesRead += read;
        if (read > 0)
        {
            hash?.AppendData(buffer[..read]);
        }
        else if (buffer.Length > 0)
        {
            Verify();
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            hash?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Verify()
    {
        if (hash is null || verified)
        {
            return;
        }

        verified = true;
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(actual, expected!.Hex, StringComparison.Ordinal))
        {
            throw new ImageException(ImageErrors.ChecksumMismatch,
                $"The {expected.Algorithm} of the image file as it is stored (all {BytesRead:N0} bytes, before anything is unpacked) is {actual}, not the expected {expected.Hex}: the file was changed or damaged on the way, or the checksum is for another file.");
        }
    }
}
