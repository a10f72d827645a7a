using System.IO.Compression;

namespace CdiTools.Engine.Sinks;

/// <summary>
/// The raw disk as a gzip stream of several members, zeros included: data goes through the fastest
/// level, and every whole mebibyte of a zero run is one copy of a member compressed once at the
/// smallest size. At the fastest level zlib shrinks zeros only about a hundredfold and spends CPU
/// on each byte; the prepared member shrinks them about a thousandfold for the cost of a copy, so
/// a sparse disk's holes cost almost nothing to send. Receivers read concatenated members as one
/// stream (RFC 1952; Go's compress/gzip, which CDI's upload server uses, does by default).
/// </summary>
public sealed class GzipBodySink(Stream stream) : IRawSink
{
    /// <summary>The zeros one prepared member holds.</summary>
    public const int ZeroMemberLength = 1 << 20;

    private static readonly Lazy<byte[]> ZeroMember = new(() =>
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[ZeroMemberLength]);
        }

        return buffer.ToArray();
    });

    private static readonly byte[] Zeros = new byte[64 << 10];

    // GZipStream writes nothing at all when nothing was written to it, but an empty disk still
    // needs a valid body: RFC 1952's empty member (header, an empty final block, CRC 0, length 0).
    private static readonly byte[] EmptyMember = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private GZipStream? member;
    private long pendingZeros;
    private bool anyMember;

    public long AllocatedBytes { get; private set; }

    /// <summary>How many prepared zero members were sent in place of compressing zeros.</summary>
    public long ZeroMembers { get; private set; }

    public void WriteData(long offset, ReadOnlySpan<byte> data)
    {
        FlushZeros();
        Member().Write(data);
        AllocatedBytes += data.Length;
    }

    public void WriteZeros(long offset, long length) => pendingZeros += length;

    public void Complete(long length)
    {
        FlushZeros();

        EndMember();
        if (!anyMember)
        {
            stream.Write(EmptyMember);
        }

        stream.Flush();
    }

    /// <summary>
    /// Leaves the stream so that no gzip reader takes it for a whole one: the open member's bytes
    /// go out without a trailer, or, between members, the start of a member that never ends. Call
    /// it when the conversion failed, before stopping the stream.
    /// </summary>
    public void Abandon()
    {
        if (member is not null)
        {
            member.Flush();
        }
        else
        {
            stream.Write([0x1F, 0x8B]);
        }

        stream.Flush();
    }

    /// <summary>Ends an open member. Without <see cref="Complete"/> the caller must have stopped
    /// the stream first (<see cref="RawExport"/> closes its gate), so the trailer never goes out.</summary>
    public void Dispose() => EndMember();

    // Zero runs are gathered first: the writer may announce one run in several pieces.
    private void FlushZeros()
    {
        var whole = pendingZeros / ZeroMemberLength;
        var rest = pendingZeros % ZeroMemberLength;
        pendingZeros = 0;
        if (whole > 0)
        {
            EndMember();
            var prepared = ZeroMember.Value;
            for (long i = 0; i < whole; i++)
            {
                stream.Write(prepared);
            }

            ZeroMembers += whole;
            anyMember = true;
        }

        while (rest > 0)
        {
            var count = (int)Math.Min(rest, Zeros.Length);
            Member().Write(Zeros, 0, count);
            rest -= count;
        }
    }

    private GZipStream Member()
    {
        if (member is null)
        {
            member = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            anyMember = true;
        }

        return member;
    }

    private void EndMember()
    {
        member?.Dispose();
        member = null;
    }
}
