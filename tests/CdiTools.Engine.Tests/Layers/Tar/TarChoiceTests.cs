using CdiTools.Engine.Layers.Tar;
using static CdiTools.Engine.Tests.Layers.Tar.TarTestIo;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>Which member is the disk, from a seekable archive and forward-only, and the refusals when it is unclear.</summary>
public sealed class TarChoiceTests : IDisposable
{
    private readonly TarWorkspace workspace = new();

    public void Dispose() => workspace.Dispose();

    [Fact]
    public void The_only_regular_file_is_the_disk_whatever_its_name()
    {
        var content = workspace.WriteFile("d/weird name.bin", 4321);
        File.CreateSymbolicLink(workspace.PathOf("d/link.img"), "weird name.bin");
        Directory.CreateDirectory(workspace.PathOf("d/empty.img"));
        var archive = workspace.TarBytes("a.tar", ["--format=gnu"], "d");

        var (member, choice) = TarLayer.Open(RandomInput(archive));
        using (member)
        {
            Assert.Equal(new TarMemberChoice("d/weird name.bin", 4321, false, "the only regular file"), choice);
            Assert.Equal(content, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Links_in_the_disk_s_place_are_never_followed_to_this_machine_s_files(bool forward)
    {
        // A symbolic and a hard link to a file of this machine, as someone else's archive could hold them.
        byte[] archive = [.. Link("disk/disk.img", '2', "/etc/passwd"), .. Link("disk/other.img", '1', "../../etc/passwd"), .. new byte[1024]];

        var refusal = Refusal(() => ReadAll(TarLayer.Open(Input(archive, forward)).Member));

        Assert.Equal("TarNoDiskImage", refusal.ErrorId);
        Assert.Contains("2 links, 'disk/disk.img', 'disk/other.img', are not followed", refusal.Message);
    }

    private static byte[] Link(string name, char type, string target)
    {
        var header = TarBlocks.Header(name, 0, type);
        System.Text.Encoding.ASCII.GetBytes(target).CopyTo(header, 157);
        TarBlocks.SetChecksum(header);
        return header;
    }

    [Fact]
    public void Forward_only_reading_refuses_a_lone_file_not_named_like_an_image()
    {
        workspace.WriteFile("weird name.bin", 4321);
        var archive = workspace.TarBytes("a.tar", [], "weird name.bin");

        var refusal = Refusal(() => TarLayer.Open(ForwardInput(archive)));

        Assert.Equal("TarNoDiskImage", refusal.ErrorId);
        Assert.Contains("forward-only", refusal.Message);
        Assert.Contains("'weird name.bin'", refusal.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_file_under_disk_wins_over_larger_images_elsewhere(bool forward)
    {
        var disk = workspace.WriteFile("disk/vm", 3000, 1);
        workspace.WriteFile("big.qcow2", 8000, 2);
        workspace.WriteFile("notes.txt", 100, 3);
        var archive = workspace.TarBytes("a.tar", [], "notes.txt", "disk", "big.qcow2");

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal("disk/vm", choice.Name);
            Assert.Equal(forward ? "the first file under disk/, read forward-only" : "the only file under disk/", choice.Reason);
            Assert.Equal(disk, ReadAll(member));
        }
    }

    [Fact]
    public void The_largest_file_under_disk_is_the_disk()
    {
        workspace.WriteFile("disk/a.img", 1000, 1);
        var b = workspace.WriteFile("disk/b", 5000, 2);
        workspace.WriteFile("c.qcow2", 9000, 3);
        var archive = workspace.TarBytes("a.tar", [], "disk/a.img", "disk/b", "c.qcow2");

        var (member, choice) = TarLayer.Open(RandomInput(archive));
        using (member)
        {
            Assert.Equal(new TarMemberChoice("disk/b", 5000, false, "the largest of 2 files under disk/"), choice);
            Assert.Equal(b, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_largest_image_file_is_the_disk_when_none_is_under_disk(bool forward)
    {
        workspace.WriteFile("readme.txt", 10_000, 1);
        var big = workspace.WriteFile("VM.QCOW2", 3000, 2);
        workspace.WriteFile("small.img", 1000, 3);
        workspace.WriteFile("mid.raw.gz", 2000, 4);
        var archive = workspace.TarBytes("a.tar", [], "readme.txt", "VM.QCOW2", "small.img", "mid.raw.gz");

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal("VM.QCOW2", choice.Name);
            Assert.Equal(forward ? "the first image file, read forward-only" : "the largest image file of 3", choice.Reason);
            Assert.Equal(big, ReadAll(member));
        }
    }

    [Fact]
    public void Equal_sizes_go_to_the_first_so_forward_reading_agrees()
    {
        var first = workspace.WriteFile("a.img", 2000, 1);
        workspace.WriteFile("b.img", 2000, 2);
        var archive = workspace.TarBytes("a.tar", [], "a.img", "b.img");

        Assert.Equal("a.img", TarLayer.Open(RandomInput(archive)).Choice.Name);
        var (member, choice) = TarLayer.Open(ForwardInput(archive));
        using (member)
        {
            Assert.Equal("a.img", choice.Name);
            Assert.Equal(first, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(new[] { "small.img", "big.qcow2" }, "small.img", "big.qcow2")]
    [InlineData(new[] { "big.qcow2", "disk/x" }, "big.qcow2", "disk/x")]
    [InlineData(new[] { "disk/small", "disk/large" }, "disk/small", "disk/large")]
    public void Forward_reading_refuses_at_the_end_when_the_whole_archive_picks_another(string[] order, string taken, string rightful)
    {
        var sizes = new Dictionary<string, int> { ["small.img"] = 1000, ["big.qcow2"] = 5000, ["disk/x"] = 10, ["disk/small"] = 100, ["disk/large"] = 200 };
        var first = workspace.WriteFile(order[0], sizes[order[0]], 1);
        workspace.WriteFile(order[1], sizes[order[1]], 2);
        var archive = workspace.TarBytes("a.tar", [], order);
        Assert.Equal(rightful, TarLayer.Open(RandomInput(archive)).Choice.Name);

        var (member, choice) = TarLayer.Open(ForwardInput(archive));
        using (member)
        {
            Assert.Equal(taken, choice.Name);
            using var stream = member.OpenStream();
            var delivered = new MemoryStream();
            var buffer = new byte[1000];
            var refusal = Refusal(() =>
            {
                int read;
                while ((read = stream.Read(buffer)) > 0)
                {
                    delivered.Write(buffer, 0, read);
                }
            });

            Assert.Equal("TarAmbiguousDisk", refusal.ErrorId);
            Assert.Contains($"'{taken}'", refusal.Message);
            Assert.Contains($"'{rightful}'", refusal.Message);
            Assert.Equal(first, delivered.ToArray());
            Assert.Equal("TarAmbiguousDisk", Refusal(() => stream.ReadByte()).ErrorId);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_archive_without_a_disk_is_refused_with_its_names(bool forward)
    {
        var names = Enumerable.Range(1, 12).Select(i => $"file{i:D2}.txt").ToArray();
        foreach (var name in names)
        {
            workspace.WriteFile(name, 10);
        }

        var archive = workspace.TarBytes("a.tar", [], names);

        var refusal = Refusal(() => TarLayer.Open(Input(archive, forward)));

        Assert.Equal("TarNoDiskImage", refusal.ErrorId);
        Assert.Contains("'file01.txt'", refusal.Message);
        Assert.Contains("'file10.txt'", refusal.Message);
        Assert.DoesNotContain("file11", refusal.Message);
        Assert.Contains("2 more", refusal.Message);
    }

    [Fact]
    public void An_archive_of_directories_only_is_refused()
    {
        Directory.CreateDirectory(workspace.PathOf("disk/sub"));
        var archive = workspace.TarBytes("a.tar", [], "disk");

        var refusal = Refusal(() => TarLayer.Open(RandomInput(archive)));

        Assert.Equal("TarNoDiskImage", refusal.ErrorId);
        Assert.Contains("no regular files", refusal.Message);
    }

    [Theory]
    [InlineData("vm.qcow2", true)]
    [InlineData("a/b/VM.Img", true)]
    [InlineData("x.vhdx.ZST", true)]
    [InlineData("x.raw.zstd", true)]
    [InlineData("x.iso.gz", true)]
    [InlineData("x.vmdk.xz", true)]
    [InlineData("x.qcow", true)]
    [InlineData("x.vdi", true)]
    [InlineData("x.vhd", true)]
    [InlineData("x.img.bz2", false)]
    [InlineData("x.imgx", false)]
    [InlineData("x.gz", false)]
    [InlineData("dir/.img", false)]
    [InlineData("disk.img/readme", false)]
    public void Image_names_are_recognised_by_extension(string name, bool image) =>
        Assert.Equal(image, TarDiskRules.HasImageExtension(name));
}
