using System.Buffers.Binary;
using System.Text;
using CdiTools.Engine.Layers.Xz;

namespace CdiTools.Engine.Tests.Layers.Xz;

/// <summary>Damaged and foreign input fails with the same ImageException ids from both decoders.</summary>
[Collection(XzTestSet.Name)]
public sealed class XzErrorTests(XzFiles files)
{
    private static readonly byte[] Payload = XzFiles.Mixed(1 << 20, seed: 1);
    private static readonly byte[] SmallPayload = XzFiles.Mixed(200_000, seed: 4);

    public static TheoryData<bool> Decoders => new() { true, false };

    public static TheoryData<bool, string> DecodersAndVerifiedChecks
    {
        get
        {
            var data = new TheoryData<bool, string>();
            foreach (var native in new[] { true, false })
            {
                foreach (var check in new[] { "crc32", "crc64", "sha256" })
                {
                    data.Add(native, check);
                }
            }

            return data;
        }
    }

    private byte[] Blocks => files.Compress("blocks", Payload, "--block-size=64KiB");

    [Theory]
    [MemberData(nameof(Decoders))]
    public void InputCutShortAnywhereIsTruncatedAtTheCut(bool native)
    {
        var xz = Blocks;
        int[] cuts = [0, 1, 6, 11, 12, 13, 40, xz.Length / 3, xz.Length / 2, xz.Length - 40, xz.Length - 13, xz.Length - 12, xz.Length - 1];
        foreach (var cut in cuts)
        {
            var error = XzFiles.DecodeFails(xz[..cut], native);

            Assert.True(error.ErrorId == "XzTruncated", $"cut at {cut}: {error.ErrorId} {error.Message}");
            Assert.Equal(cut, error.Offset);
        }
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ASecondStreamCutShortIsTruncated(bool native)
    {
        var a = files.Compress("small", SmallPayload);
        byte[] both = [.. a, .. a];
        foreach (var cut in new[] { a.Length + 2, a.Length + 4, a.Length + 11, a.Length + 500 })
        {
            Assert.Equal("XzTruncated", XzFiles.DecodeFails(both[..cut], native).ErrorId);
        }

        // Cut exactly between the streams, what is left is a whole layer.
        Assert.Equal(SmallPayload, XzFiles.Decode(both[..a.Length], native));
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void AFlippedByteInTheCompressedDataIsCorrupt(bool native)
    {
        var xz = Blocks;
        foreach (var at in new[] { xz.Length / 5, xz.Length / 3, xz.Length / 2, xz.Length * 4 / 5 })
        {
            var damaged = (byte[])xz.Clone();
            damaged[at] ^= 0x10;

            var error = XzFiles.DecodeFails(damaged, native);

            Assert.True(error.ErrorId == "XzCorrupt", $"flip at {at}: {error.ErrorId} {error.Message}");
            Assert.NotNull(error.Offset);
        }
    }

    [Theory]
    [MemberData(nameof(DecodersAndVerifiedChecks))]
    public void AFlippedByteInTheIntegrityCheckIsCorrupt(bool native, string check)
    {
        var xz = files.Compress("one-block-" + check, SmallPayload, "--check=" + check);
        var checkSize = check switch { "crc32" => 4, "crc64" => 8, _ => 32 };

        // The last block's check sits right before the index; the footer says how long the index is.
        var indexSize = ((int)BinaryPrimitives.ReadUInt32LittleEndian(xz.AsSpan(xz.Length - 8)) + 1) * 4;
        var checkAt = xz.Length - 12 - indexSize - checkSize;
        foreach (var at in new[] { checkAt, checkAt + checkSize - 1 })
        {
            var damaged = (byte[])xz.Clone();
            damaged[at] ^= 0x01;

            Assert.Equal("XzCorrupt", XzFiles.DecodeFails(damaged, native).ErrorId);
        }
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void AFlippedByteInTheIndexOrFooterIsCorrupt(bool native)
    {
        var xz = Blocks;
        foreach (var fromEnd in new[] { 1, 5, 10, 14, 20, 30 })
        {
            var damaged = (byte[])xz.Clone();
            damaged[^fromEnd] ^= 0x04;

            Assert.Equal("XzCorrupt", XzFiles.DecodeFails(damaged, native).ErrorId);
        }
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void SomethingElseIsNotXz(bool native)
    {
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("This is a raw disk image, honestly. ", 100)));
        var error = XzFiles.DecodeFails(text, native);
        Assert.Equal("XzNotXz", error.ErrorId);
        Assert.NotNull(error.Offset);

        byte[] gzipLike = [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3, .. new byte[100]];
        Assert.Equal("XzNotXz", XzFiles.DecodeFails(gzipLike, native).ErrorId);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void GarbageAfterAStreamIsCorrupt(bool native)
    {
        byte[] xz = [.. files.Compress("small", SmallPayload), .. Encoding.ASCII.GetBytes("trailing garbage, not xz")];

        Assert.Equal("XzCorrupt", XzFiles.DecodeFails(xz, native).ErrorId);
    }

    [Theory]
    [InlineData(true, 2, false)]
    [InlineData(false, 2, false)]
    [InlineData(true, 5, true)]
    [InlineData(false, 5, true)]
    [InlineData(true, 7, false)]
    [InlineData(false, 7, false)]
    public void StreamPaddingThatIsNotWholeGroupsOfFourIsCorrupt(bool native, int zeros, bool anotherStream)
    {
        var a = files.Compress("small", SmallPayload);
        byte[] xz = anotherStream ? [.. a, .. new byte[zeros], .. a] : [.. a, .. new byte[zeros]];

        Assert.Equal("XzCorrupt", XzFiles.DecodeFails(xz, native).ErrorId);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ACheckTypeTheDecoderDoesNotKnowIsRefusedNotSkipped(bool native)
    {
        // Check ID 2 is reserved (4 bytes long) but defined by no xz release; patched into the
        // header and footer of a CRC32 stream, both with their CRC32s made right again.
        var xz = SetStreamFlags(files.Compress("one-block-crc32", SmallPayload, "--check=crc32"), 0x02);

        var error = XzFiles.DecodeFails(xz, native);

        Assert.Equal("XzUnsupportedCheck", error.ErrorId);
        Assert.True(error.IsUnsupported);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void UnknownStreamFlagsAreUnsupportedOptions(bool native)
    {
        var xz = SetStreamFlags(files.Compress("one-block-crc32", SmallPayload, "--check=crc32"), 0x21);

        var error = XzFiles.DecodeFails(xz, native);

        Assert.Equal("XzUnsupportedOptions", error.ErrorId);
        Assert.True(error.IsUnsupported);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void ADictionaryBeyondTheMemoryLimitIsRefused(bool native)
    {
        var xz = files.Compress("dict8m", SmallPayload, "--lzma2=dict=8MiB");

        var error = XzFiles.DecodeFails(xz, native, memoryLimit: 4 << 20);
        Assert.Equal("XzMemoryLimit", error.ErrorId);

        using var roomy = XzFiles.Open(new MemoryStream(xz), native, memoryLimit: 64 << 20);
        var output = new MemoryStream();
        roomy.CopyTo(output);
        Assert.Equal(SmallPayload, output.ToArray());
    }

    [Fact]
    public void TheDefaultMemoryLimitAdmitsA1GiBDictionary()
    {
        Assert.InRange(XzLayer.DefaultMemoryLimit, (1UL << 30) + (1UL << 20), 3UL << 29);
    }

    [Fact]
    public void TheDeltaFilterDecodesNativelyAndIsRefusedByTheManagedDecoder()
    {
        // SharpCompress has no delta filter; the managed decoder says so instead of guessing.
        var xz = files.Compress("delta", SmallPayload, "--delta=dist=4", "--lzma2=preset=6");

        Assert.Equal(SmallPayload, XzFiles.Decode(xz, native: true));
        var error = XzFiles.DecodeFails(xz, native: false);
        Assert.Equal("XzUnsupportedOptions", error.ErrorId);
        Assert.Contains("0x03", error.Message);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void AnErrorStaysAnErrorOnLaterReads(bool native)
    {
        var xz = Blocks[..(Blocks.Length / 2)];
        using var stream = XzFiles.Open(new MemoryStream(xz), native);
        var buffer = new byte[1 << 20];

        var first = Assert.Throws<ImageException>(() => stream.CopyTo(Stream.Null));
        var again = Assert.Throws<ImageException>(() => stream.Read(buffer, 0, buffer.Length));

        Assert.Equal("XzTruncated", first.ErrorId);
        Assert.Equal(first.ErrorId, again.ErrorId);
    }

    [Fact]
    public void TheHeaderCrc32MatchesWhatXzWrites()
    {
        var xz = files.Compress("small", SmallPayload);

        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(xz.AsSpan(8)), System.IO.Hashing.Crc32.HashToUInt32(xz.AsSpan(6, 2)));
    }

    /// <summary>Rewrites the second stream-flags byte in the header and footer of a one-stream file, with valid CRC32s.</summary>
    private static byte[] SetStreamFlags(byte[] xz, byte flags)
    {
        var patched = (byte[])xz.Clone();
        patched[7] = flags;
        BinaryPrimitives.WriteUInt32LittleEndian(patched.AsSpan(8), System.IO.Hashing.Crc32.HashToUInt32(patched.AsSpan(6, 2)));
        var footer = patched.AsSpan(patched.Length - 12);
        footer[9] = flags;
        BinaryPrimitives.WriteUInt32LittleEndian(footer, System.IO.Hashing.Crc32.HashToUInt32(footer.Slice(4, 6)));
        return patched;
    }
}
