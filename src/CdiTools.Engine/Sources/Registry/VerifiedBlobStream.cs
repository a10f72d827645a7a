using System.Security.Cryptography;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// A blob read forward, hashed as it streams and checked against its descriptor at its end: the
/// read that would return the end of the blob throws instead when the size or the SHA-256 differ,
/// so a conversion fed from it fails, and leaves nothing behind, before it can complete.
/// </summary>
internal sealed class VerifiedBlobStream(Stream inner, Descriptor descriptor, string what) : ForwardReadStream
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long received;
    private bool verified;

    public long BytesRead => received;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // Never more than the descriptor's size plus one byte: enough to notice a longer blob.
        var room = descriptor.Size - received + 1;
        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, Math.Max(1, room))]);
        if (read == 0)
        {
            Verify();
            return 0;
        }

        received += read;
        if (received > descriptor.Size)
        {
            throw Mismatch($"is longer than the {descriptor.Size:N0} bytes its descriptor says");
        }

        hash.AppendData(buffer[..read]);
        return read;
    }

    /// <summary>Reads what is left of the blob (a decoder may stop before its container ends) and checks it.</summary>
    public void VerifyToEnd()
    {
        var scratch = new byte[64 * 1024];
        while (Read(scratch) > 0)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Verify()
    {
        if (verified)
        {
            return;
        }

        if (received < descriptor.Size)
        {
            throw Mismatch($"ended after {received:N0} of the {descriptor.Size:N0} bytes its descriptor says");
        }

        var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != descriptor.Digest)
        {
            throw Mismatch($"has the digest {actual}, not {descriptor.Digest}; it was changed or damaged after it was pushed");
        }

        verified = true;
    }

    private ImageException Mismatch(string why) => new(ImageErrors.RegistryDigestMismatch, $"The {what} {why}.", received);

    /// <summary>Checks a manifest read whole: its SHA-256 must be the digest it was asked or announced by.</summary>
    public static string Check(byte[] body, string? expected, string what)
    {
        var actual = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        if (expected is not null && !string.Equals(actual, expected, StringComparison.Ordinal))
        {
            throw new ImageException(ImageErrors.RegistryDigestMismatch, $"The {what} has the digest {actual}, not {expected}; it was changed or damaged on the way.");
        }

        return actual;
    }
}
