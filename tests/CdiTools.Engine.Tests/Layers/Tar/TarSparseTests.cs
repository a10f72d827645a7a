using System.Diagnostics;
using System.Text;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Sources;
using static CdiTools.Engine.Tests.Layers.Tar.TarTestIo;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>Sparse members, in GNU's old format and the three PAX ones, expand to the original file, read either way.</summary>
public sealed class TarSparseTests : IDisposable
{
    // Seven islands (more than the four an old GNU header holds, so extension blocks follow): one
    // at the very start, unaligned ones, two adjacent, and a hole at the end.
    private static readonly (long, int)[] Islands =
    [
        (0, 5000), (1 << 20, 8192), (3 << 20, 100), ((3 << 20) + 4096, 4096), (5_000_000, 70_000), (7 << 20, 1), ((8 << 20) + 12_345, 20_000),
    ];

    private const long FileSize = (10 << 20) + 333;

    private readonly TarWorkspace workspace = new();

    public void Dispose() => workspace.Dispose();

    public static TheoryData<string, bool> Formats => new()
    {
        { "gnu", false }, { "gnu", true },
        { "0.0", false }, { "0.0", true },
        { "0.1", false }, { "0.1", true },
        { "1.0", false }, { "1.0", true },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_sparse_member_expands_to_the_original_file(string format, bool forward)
    {
        var original = workspace.WriteSparse("src/vm.img", FileSize, Islands);
        var archive = SparseTar(format, "src", "vm.img");

        var (hash, choice, length) = OpenAndHash(Input(archive, forward));

        Assert.Equal(Sha256(original), hash);
        Assert.Equal(new TarMemberChoice("vm.img", FileSize, true, forward ? "the first image file, read forward-only" : "the only regular file"), choice);
        Assert.Equal(FileSize, length);
    }

    [Fact]
    public void The_old_gnu_fixture_has_a_map_longer_than_its_header_holds()
    {
        workspace.WriteSparse("src/vm.img", FileSize, Islands);
        var archive = SparseTar("gnu", "src", "vm.img");

        Assert.Equal((byte)'S', archive[156]);
        Assert.Equal(1, archive[482]);
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("0.0")]
    [InlineData("0.1")]
    [InlineData("1.0")]
    public void Random_reads_anywhere_match_the_original(string format)
    {
        var original = File.ReadAllBytes(workspace.WriteSparse("src/vm.img", FileSize, Islands));
        var (member, _) = TarLayer.Open(RandomInput(SparseTar(format, "src", "vm.img")));
        using (member)
        {
            var source = member.Random!;
            var random = new Random(format.GetHashCode(StringComparison.Ordinal));
            var buffer = new byte[300_000];
            var probes = Islands.SelectMany(i => new[] { i.Item1 - 1, i.Item1, i.Item1 + i.Item2 - 1, i.Item1 + i.Item2 })
                .Concat(Enumerable.Range(0, 200).Select(_ => random.NextInt64(FileSize)))
                .Where(o => o >= 0);
            foreach (var offset in probes)
            {
                var count = random.Next(1, buffer.Length);
                var read = source.ReadAt(offset, buffer.AsSpan(0, count));
                var expected = (int)Math.Min(count, FileSize - offset);
                Assert.Equal(expected, read);
                Assert.True(original.AsSpan((int)offset, expected).SequenceEqual(buffer.AsSpan(0, read)), $"differs in {read} bytes at {offset}");
            }

            Assert.Equal(0, source.ReadAt(FileSize, buffer));
        }
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("1.0")]
    public void A_sparse_member_tells_its_islands_as_its_data_so_its_holes_are_never_read(string format)
    {
        workspace.WriteSparse("src/vm.img", FileSize, Islands);
        var (member, _) = TarLayer.Open(RandomInput(SparseTar(format, "src", "vm.img")));
        using (member)
        {
            var source = member.Random!;
            var ranges = new List<DataRange>();
            for (var range = source.NextData(0); !range.IsEmpty; range = source.NextData(range.End))
            {
                Assert.True(ranges.Count == 0 || range.Start >= ranges[^1].End, $"{range} overlaps or precedes the range before it");
                ranges.Add(range);
            }

            Assert.Equal(new DataRange(FileSize, FileSize), source.NextData(ranges[^1].End));
            foreach (var (offset, length) in Islands)
            {
                Assert.Contains(ranges, r => r.Start <= offset && r.End >= offset + length);
            }

            // tar finds the holes at its own block granularity, so an island may come padded.
            Assert.True(ranges.Sum(r => r.Length) < FileSize / 4, $"{ranges.Sum(r => r.Length):N0} bytes of data reported");
        }
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("1.0")]
    public void A_4_GiB_sparse_member_is_read_without_holding_it(string format)
    {
        const long size = 4L << 30;
        workspace.WriteSparse("src/big.raw", size, (0, 4096), ((2L << 30) + 123, 10_000), (size - 4096, 4096));
        var marks = new Dictionary<long, byte[]>
        {
            [0] = Pattern(4096, 7)[..16],
            [(2L << 30) + 123] = Pattern(10_000, 8)[..16],
            [size - 16] = Pattern(4096, 9)[^16..],
            [1L << 30] = new byte[16],
            [(3L << 30) + 5] = new byte[16],
        };
        var archive = SparseTar(format, "src", "big.raw");
        Assert.True(archive.Length < 1 << 20);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var (member, choice) = TarLayer.Open(RandomInput(archive));
        using (member)
        {
            Assert.Equal(size, choice.Size);
            Assert.Equal(size, member.Random!.Length);
            Assert.Equal(size, member.Length);
            var buffer = new byte[16];
            foreach (var (offset, expected) in marks)
            {
                Assert.Equal(16, member.Random.ReadAt(offset, buffer));
                Assert.Equal(expected, buffer);
            }
        }

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "opening and reading allocated a megabyte or more");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_map_that_does_not_add_up_to_the_stored_data_is_refused(bool forward)
    {
        workspace.WriteSparse("src/vm.img", FileSize, Islands);
        var archive = SparseTar("0.1", "src", "vm.img");

        // Same length, so the pax record stays well-formed: only the map's sum is wrong.
        var text = Encoding.Latin1.GetString(archive);
        var at = text.IndexOf("GNU.sparse.map=0,", StringComparison.Ordinal) + "GNU.sparse.map=0,".Length;
        Assert.True(at > 100);
        archive[at] = archive[at] == '1' ? (byte)'2' : (byte)'1';

        var refusal = OpenAndReadFails(Input(archive, forward));
        Assert.Equal("TarSparseCorrupt", refusal.ErrorId);
        Assert.Contains("'vm.img'", refusal.Message);
    }

    [Fact]
    public void An_unknown_pax_sparse_version_is_unsupported()
    {
        byte[] archive = [
            .. TarBlocks.Pax(("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0"), ("GNU.sparse.realsize", "4096")),
            .. TarBlocks.Header("disk.img", 0, '0'), .. TarBlocks.End];

        var refusal = Refusal(() => TarLayer.Open(RandomInput(archive)));
        Assert.Equal("TarSparseVersionUnsupported", refusal.ErrorId);
        Assert.True(refusal.IsUnsupported);
    }

    private byte[] SparseTar(string format, string directory, string name)
    {
        string[] options = format == "gnu"
            ? ["--format=gnu", "--sparse", "-C", directory]
            : ["--format=posix", "--sparse", $"--sparse-version={format}", "-C", directory];
        return workspace.TarBytes($"{format}.tar", options, name);
    }
}
