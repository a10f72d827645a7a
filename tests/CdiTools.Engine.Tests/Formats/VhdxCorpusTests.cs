using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// The VHDX fixtures of the public image corpus: Hyper-V, Disk2VHD and DiscUtils images give the
/// hashes its README records for qemu-img 7.2, and the images whose log must be replayed give what
/// qemu-img converts once it has replayed the log into a copy. The 10 GiB ones are compared byte
/// for byte with qemu-img's output rather than hashed, which would cost a minute each.
/// </summary>
public sealed class VhdxCorpusTests
{
    private static string Corpus(string relative) => Path.Combine(RepositoryPaths.ImageCorpus, relative);

    [Theory]
    [InlineData("qemu-iotests-sample_images/iotest-dynamic-1G.vhdx.bz2", "d3d112d8dab7fd360609f7d5a7b769904b7a2a7d7b6b8c535f65a23293c05478", 0)]
    [InlineData("qemu-iotests-sample_images/test-disk2vhd.vhdx.bz2", "96d964042be9b58dda1725567abfb0cf9fd8380e2118754afa979c2ad445938a", 2 << 20)]
    [InlineData("discutils/btrfs.vhdx.gz", "0b959f9cb4e18348ad8b646f152178282542c8304f02fddf765e3fd1a1de6864", 0)]
    public void A_corpus_vhdx_converts_to_the_hash_qemu_img_gives(string file, string sha256, long kept)
    {
        using var work = new TemporaryDirectory();
        var image = Unpack(file, work);

        var random = Run.FileToFile(image, work.File("random.raw"));
        File.Delete(work.File("random.raw"));
        var forward = Run.StreamToFile(image, work.File("forward.raw"));

        Assert.Equal(sha256, random.Sha256);
        Assert.Equal(sha256, forward.Sha256);
        Assert.Equal(["vhdx"], random.FormatChain);
        Assert.Equal(0, forward.ScratchBytes);

        // Disk2VHD writes the disk's last 2 MiB block first, which waits in memory until its turn.
        Assert.Equal(kept, forward.KeptBytes);
    }

    [Fact]
    public void The_10_GiB_swap_image_converts_like_qemu_img_both_ways()
    {
        using var work = new TemporaryDirectory();
        var image = Unpack("discutils/swap.vhdx.gz", work);
        ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, work.File("qemu.raw"));

        var random = Convert(image, work.File("random.raw"), forward: false);
        var forward = Convert(image, work.File("forward.raw"), forward: true);

        Assert.Equal(10L << 30, random.VirtualSize);
        AssertSameBytes(work.File("qemu.raw"), work.File("random.raw"));
        AssertSameBytes(work.File("qemu.raw"), work.File("forward.raw"));
        Assert.Equal(0, forward.KeptBytes);
        Assert.True(ExternalTool.AllocatedBytes(work.File("random.raw")) <= ExternalTool.AllocatedBytes(work.File("qemu.raw")));
    }

    [Theory]
    [InlineData("qemu-iotests-sample_images/iotest-dirtylog-10G-4M.vhdx.bz2", false)]
    [InlineData("discutils/vhdx-log-replay.vhdx.gz", true)]
    public void A_corpus_vhdx_with_a_log_to_replay_converts_as_qemu_img_does_after_replaying_it(string file, bool alsoForward)
    {
        using var work = new TemporaryDirectory();
        var image = Unpack(file, work);
        var before = DiskContent.Sha256(image);
        File.Copy(image, work.File("replayed.vhdx"));
        var refusal = Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, work.File("refused.raw")));
        Assert.Contains("log that needs to be replayed", refusal.Message);
        ExternalTool.Run("qemu-img", "check", "-r", "all", work.File("replayed.vhdx"));
        ExternalTool.Run("qemu-img", "convert", "-O", "raw", work.File("replayed.vhdx"), work.File("qemu.raw"));

        var random = Convert(image, work.File("random.raw"), forward: false);
        using var opened = LocalImages.Open(image);

        AssertSameBytes(work.File("qemu.raw"), work.File("random.raw"));
        Assert.Equal(new FileInfo(work.File("qemu.raw")).Length, random.VirtualSize);
        Assert.Contains(opened.Details.Notes, note => note.Contains("log was replayed", StringComparison.Ordinal));
        Assert.Equal(before, DiskContent.Sha256(image));
        if (alsoForward)
        {
            var forward = Convert(image, work.File("forward.raw"), forward: true);
            AssertSameBytes(work.File("qemu.raw"), work.File("forward.raw"));
            Assert.Equal(0, forward.ScratchBytes);
        }
    }

    [Fact]
    public void The_dirty_log_rewrites_the_bat_so_ignoring_it_would_give_another_disk()
    {
        using var work = new TemporaryDirectory();
        var image = Unpack("qemu-iotests-sample_images/iotest-dirtylog-10G-4M.vhdx.bz2", work);
        File.Copy(image, work.File("no-log.vhdx"));
        VhdxImages.ClearLogGuids(work.File("no-log.vhdx"));

        using var replayed = LocalImages.Open(image);
        using var ignored = LocalImages.Open(work.File("no-log.vhdx"));

        var replayedBat = ((Engine.Formats.Vhdx.VhdxRandomDriver)replayed.Driver).Layout.Blocks;
        var ignoredBat = ((Engine.Formats.Vhdx.VhdxRandomDriver)ignored.Driver).Layout.Blocks;
        Assert.NotEqual(replayedBat, ignoredBat);
        Assert.Empty(ignored.Details.Notes);
    }

    internal static string Unpack(string file, TemporaryDirectory work)
    {
        var image = work.File(Path.GetFileNameWithoutExtension(file));
        var tool = file.EndsWith(".bz2", StringComparison.Ordinal) ? "bzip2" : "gzip";
        ExternalTool.Shell($"{tool} -dc '{Corpus(file)}' > '{image}'");
        return image;
    }

    // Converts without hashing: a 10 GiB disk of zeros costs far more to hash than to write.
    internal static ImportResult Convert(string image, string destination, bool forward)
    {
        var input = forward
            ? LayerInput.FromStream(new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            : LayerInput.FromRandom(new FileSource(image));
        using var opened = ImageOpener.Open(input, new ImageOpenOptions());
        using var sink = new SparseFileSink(destination, overwrite: false);
        return ImageConverter.Convert(opened, sink);
    }

    internal static void AssertSameBytes(string expected, string actual) =>
        Assert.True(SameBytes(expected, actual), $"{Path.GetFileName(actual)} differs from {Path.GetFileName(expected)}");

    private static bool SameBytes(string first, string second)
    {
        using var a = new FileStream(first, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        using var b = new FileStream(second, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        if (a.Length != b.Length)
        {
            return false;
        }

        var left = new byte[4 << 20];
        var right = new byte[4 << 20];
        while (true)
        {
            var read = a.ReadAtLeast(left, left.Length, throwOnEndOfStream: false);
            b.ReadExactly(right, 0, read);
            if (!left.AsSpan(0, read).SequenceEqual(right.AsSpan(0, read)))
            {
                return false;
            }

            if (read < left.Length)
            {
                return true;
            }
        }
    }
}
