using System.Runtime.InteropServices;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// The VMDKs of tests/data/image-corpus: the ESXi stream-optimized version 3 image and dfvfs's
/// monolithic sparse one give the hashes its README records for qemu-img 7.2, read at random and
/// forward; the crafted images that try to exhaust memory are refused as qemu refuses them.
/// </summary>
public sealed class VmdkCorpusTests
{
    private static string Corpus(string relative) => Path.Combine(RepositoryPaths.ImageCorpus, relative);

    private static string Unpacked(TemporaryDirectory work, string relative)
    {
        var file = work.File(Path.GetFileNameWithoutExtension(relative));
        ExternalTool.Shell($"bzip2 -dc '{Corpus(relative)}' > '{file}'");
        return file;
    }

    [Fact]
    public void The_esxi_stream_optimized_version_3_image_converts_to_qemus_hash_at_random_and_forward()
    {
        using var work = new TemporaryDirectory();
        var image = Unpacked(work, "qemu-iotests-sample_images/iotest-version3.vmdk.bz2");

        // The disk is 16 GiB, almost all holes: hashing it once is enough, the forward result is
        // compared with the random one where either has data.
        var random = Run.FileToFile(image, work.File("random.raw"));
        var forward = VmdkRun.WithoutHash(image, work.File("forward.raw"), forward: true);
        using var opened = LocalImages.Open(image);

        Assert.Equal("0859bb3397bc1d30fa979c80a289ce98bfd6c1141a64594d6f3cc8cd68218faf", random.Sha256);
        VmdkRun.AssertSameContent(work.File("random.raw"), work.File("forward.raw"));
        Assert.Equal(16L << 30, random.VirtualSize);
        Assert.False(forward.RandomAccess);
        Assert.Equal(0, forward.ScratchBytes);
        Assert.Equal(0, forward.KeptBytes);
        Assert.Equal("streamOptimized", opened.Details.Subformat);
        Assert.Equal(3, opened.Details.Version);
        Assert.True(ExternalTool.AllocatedBytes(work.File("random.raw")) < 16 << 20);
    }

    [Fact]
    public void The_esxi_stream_optimized_image_streams_from_behind_gzip_in_the_order_its_markers_give()
    {
        using var work = new TemporaryDirectory();
        var image = Unpacked(work, "qemu-iotests-sample_images/iotest-version3.vmdk.bz2");
        ExternalTool.Shell($"gzip -c '{image}' > '{image}.gz'");

        var random = VmdkRun.WithoutHash(image, work.File("random.raw"), forward: false);
        var wrapped = VmdkRun.WithoutHash(image + ".gz", work.File("wrapped.raw"), forward: false);

        Assert.False(wrapped.RandomAccess);
        Assert.Equal(["gzip", "vmdk"], wrapped.FormatChain.Select(f => f.Split(' ')[0]));
        Assert.Equal(random.VirtualSize, wrapped.VirtualSize);
        Assert.Equal(0, wrapped.ScratchBytes);
        VmdkRun.AssertSameContent(work.File("random.raw"), work.File("wrapped.raw"));
    }

    [Fact]
    public void The_dfvfs_monolithic_sparse_image_converts_to_qemus_hash_at_random_and_forward()
    {
        using var work = new TemporaryDirectory();
        const string file = "dfvfs/ext2.vmdk";

        var random = Run.Checked(Run.FileToFile, Corpus(file), work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, Corpus(file), work.File("forward.raw"));

        Assert.Equal("a6c2f0e39afe6c6ab432ca5465349fcefe8dc944398e97b2d957d3f89dbb5d80", random.Sha256);
        Assert.Equal(random.Sha256, forward.Sha256);
        Assert.Equal(["vmdk"], random.FormatChain);
        Assert.Equal(0, forward.ScratchBytes);
    }

    [Theory]
    [InlineData("cdi/invalid_qcow_images/invalid-qcow-large-memory.img")]
    [InlineData("cdi/invalid_qcow_images/invalid-qcow-backing-file.img")]
    [InlineData("qemu-iotests-sample_images/afl9.vmdk.bz2")]
    public void A_crafted_image_with_a_huge_grain_directory_is_refused_before_allocating_it(string file)
    {
        using var work = new TemporaryDirectory();
        var image = file.EndsWith(".bz2", StringComparison.Ordinal) ? Unpacked(work, file) : Corpus(file);
        var before = work.Files();

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var random = Assert.Throws<ImageException>(() => Run.FileToFile(image, work.File("random.raw")));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var forward = Assert.Throws<ImageException>(() => Run.StreamToFile(image, work.File("forward.raw")));

        Assert.Equal("VmdkGrainDirectoryTooLarge", random.ErrorId);
        Assert.Equal("VmdkGrainDirectoryTooLarge", forward.ErrorId);
        Assert.Contains("L1 size too big", random.Message);
        Assert.Equal(12, random.Offset);
        Assert.True(allocated < 4 << 20, $"{allocated:N0} bytes allocated before the refusal");
        Assert.Equal(before, work.Files());
    }
}

/// <summary>Conversions of large, nearly empty VMDKs without hashing every zero, and a comparison of two sparse outputs by their data.</summary>
internal static class VmdkRun
{
    private const int SeekData = 3;
    private const int SeekHole = 4;

    public static ImportResult WithoutHash(string image, string destination, bool forward)
    {
        var input = forward
            ? LayerInput.FromStream(new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            : LayerInput.FromRandom(new FileSource(image));
        using var opened = ImageOpener.Open(input, new ImageOpenOptions());
        using var sink = new SparseFileSink(destination, overwrite: false);
        return ImageConverter.Convert(opened, sink, computeSha256: false);
    }

    /// <summary>Asserts two files have the same length and bytes, reading only where either has data (outside, both read zeros).</summary>
    public static void AssertSameContent(string expected, string actual)
    {
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(actual).Length);
        var ranges = DataRanges(expected).Concat(DataRanges(actual)).ToList();
        Assert.NotEmpty(ranges);
        using var a = File.OpenHandle(expected);
        using var b = File.OpenHandle(actual);
        var left = new byte[1 << 20];
        var right = new byte[1 << 20];
        foreach (var (start, end) in ranges)
        {
            for (var offset = start; offset < end; offset += left.Length)
            {
                var count = (int)Math.Min(left.Length, end - offset);
                RandomAccess.Read(a, left.AsSpan(0, count), offset);
                RandomAccess.Read(b, right.AsSpan(0, count), offset);
                Assert.True(left.AsSpan(0, count).SequenceEqual(right.AsSpan(0, count)), $"{actual} differs from {expected} in [{offset}, {offset + count})");
            }
        }
    }

    private static List<(long Start, long End)> DataRanges(string path)
    {
        using var handle = File.OpenHandle(path);
        var fd = (int)handle.DangerousGetHandle();
        var length = RandomAccess.GetLength(handle);
        var ranges = new List<(long, long)>();
        for (long offset = 0; offset < length;)
        {
            var data = Seek(fd, offset, SeekData);
            if (data < 0)
            {
                break;
            }

            var hole = Seek(fd, data, SeekHole);
            ranges.Add((data, hole));
            offset = hole;
        }

        return ranges;
    }

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long Seek(int fd, long offset, int whence);
}
