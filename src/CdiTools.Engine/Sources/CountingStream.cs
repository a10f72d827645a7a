using System.Security.Cryptography;

namespace CdiTools.Engine.Sources;

/// <summary>
/// The outermost input read forward: counts the bytes for progress and, when asked, checks them
/// against an expected SHA-256 at the end, before the conversion may complete.
/// </summary>
internal sealed class CountingStream : ForwardReadStream
{
    private readonly Stream inner;
    private readonly IncrementalHash? hash;
    private readonly string? expectedSha256;
    private bool verified;

    public CountingStream(Stream inner, string? expectedSha256)
    {
        this.inner = inner;
        this.expectedSha256 = expectedSha256;
        hash = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
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
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ImageException(
                "ChecksumMismatch",
                $"The image's SHA-256 is {actual}, not the expected {expectedSha256!.ToLowerInvariant()}; it was changed or damaged on the way.",
                BytesRead);
        }
    }
}
