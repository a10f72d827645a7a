using System.Formats.Tar;
using System.Globalization;
using System.Text;
using CdiTools.Engine.Layers.Tar;
using CdiTools.Engine.Sources;
using static CdiTools.Engine.Tests.Layers.Tar.TarTestIo;

namespace CdiTools.Engine.Tests.Layers.Tar;

/// <summary>The header formats: names and sizes come out right from ustar, GNU and pax archives, read either way.</summary>
public sealed class TarFormatTests : IDisposable
{
    private readonly TarWorkspace workspace = new();

    public void Dispose() => workspace.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_ustar_name_split_into_prefix_and_name_is_joined(bool forward)
    {
        // Over 100 characters, so ustar must put the directories in the prefix field.
        var name = $"{new string('p', 70)}/{new string('q', 70)}/disk.qcow2";
        var content = workspace.WriteFile(name, 70_001);
        var archive = workspace.TarBytes("u.tar", ["--format=ustar"], name);
        Assert.Equal((byte)'p', archive[345]);

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal(name, choice.Name);
            Assert.Equal(content.Length, choice.Size);
            Assert.False(choice.Sparse);
            Assert.Equal(content, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_gnu_long_name_comes_from_its_LongLink_entry(bool forward)
    {
        var name = $"disk/{new string('n', 150)}.img";
        var content = workspace.WriteFile(name, 3000);
        workspace.WriteFile("notes.txt", 10);
        var archive = workspace.TarBytes("g.tar", ["--format=gnu"], "notes.txt", name);
        Assert.Contains("././@LongLink", Encoding.ASCII.GetString(archive));

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal(name, choice.Name);
            Assert.Equal(content, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_pax_path_overrides_the_truncated_header_name(bool forward)
    {
        var name = new string('x', 180) + ".raw";
        var content = workspace.WriteFile(name, 1025);
        var archive = workspace.TarBytes("p.tar", ["--format=posix"], name);
        Assert.Contains($" path={name}\n", Encoding.ASCII.GetString(archive));

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal(name, choice.Name);
            Assert.Equal(content, ReadAll(member));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_pax_size_overrides_the_header_size(bool forward)
    {
        // The header's size field says 0; only the pax record tells where the data ends.
        var content = Pattern(3000, 5);
        byte[] archive = [
            .. TarBlocks.Pax(("size", "3000")), .. TarBlocks.Header("disk.img", 0, '0'), .. TarBlocks.Padded(content),
            .. TarBlocks.Header("after.txt", 0, '0'), .. TarBlocks.End];

        var (member, choice) = TarLayer.Open(Input(archive, forward));
        using (member)
        {
            Assert.Equal(3000, choice.Size);
            Assert.Equal(forward ? "the first image file, read forward-only" : "the only image file", choice.Reason);
            Assert.Equal(content, ReadAll(member));
        }
    }

    [Fact]
    public void A_member_larger_than_ustar_can_say_is_sized_by_pax_without_reading_it()
    {
        // A 9 GiB member (beyond ustar's 8 GiB octal field), laid out as GNU tar writes it; the
        // archive file is sparse on disk, so the test costs a few blocks.
        const long size = (9L << 30) + 77;
        var head = (byte[])[.. TarBlocks.Pax(("size", size.ToString(CultureInfo.InvariantCulture))), .. TarBlocks.Header("big.raw", 0, '0')];
        var path = workspace.PathOf("big.tar");
        var marks = new[] { 0L, 5L << 30, size - 4 };
        using (var file = new FileStream(path, FileMode.Create))
        {
            file.Write(head);
            file.SetLength(head.Length + TarBlocksPadded(size) + 1024);
            foreach (var mark in marks)
            {
                file.Position = head.Length + mark;
                file.Write(BitConverter.GetBytes((int)(mark % 1_000_003)));
            }
        }

        var (member, choice) = TarLayer.Open(LayerInput.FromRandom(new FileSource(path)));
        using (member)
        {
            Assert.Equal(size, choice.Size);
            Assert.Equal(size, member.Random!.Length);
            var word = new byte[4];
            foreach (var mark in marks)
            {
                Assert.Equal(4, member.Random.ReadAt(mark, word));
                Assert.Equal((int)(mark % 1_000_003), BitConverter.ToInt32(word));
            }

            Assert.Equal(0, member.Random.ReadAt(size, word));
        }
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("posix")]
    [InlineData("ustar")]
    public void Entries_match_what_System_Formats_Tar_reads(string format)
    {
        workspace.WriteFile("tree/a.img", 513);
        workspace.WriteFile("tree/empty.raw", 0);
        workspace.WriteFile($"tree/{new string('d', 90)}/{new string('e', 60)}.qcow2", 2048);
        Directory.CreateDirectory(workspace.PathOf("tree/sub"));
        File.CreateSymbolicLink(workspace.PathOf("tree/link.img"), "a.img");
        workspace.Run("ln", ["tree/a.img", "tree/hard.img"]);
        var path = workspace.Tar("o.tar", [$"--format={format}"], "tree");

        using var archive = new FileSource(path);
        var ours = TarLayer.List(archive).Where(m => m.IsRegular).Select(m => (m.Name, m.DataOffset, m.StoredSize)).ToList();

        var theirs = new List<(string, long, long)>();
        using var reader = new TarReader(File.OpenRead(path));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                theirs.Add((entry.Name.TrimStart('/'), entry.DataOffset, entry.Length));
            }
        }

        Assert.Equal(3, theirs.Count);
        Assert.Equal(theirs, ours);
        var all = TarLayer.List(archive);
        Assert.Contains(all, m => m.Name == "tree/link.img" && !m.IsRegular);
        Assert.Contains(all, m => m.Name == "tree/sub/" && !m.IsRegular);

        // Whichever of the two names tar meets second is stored as a hard link, which has no data.
        Assert.Single(all, m => m.Name is "tree/a.img" or "tree/hard.img" && m.IsRegular);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_dfvfs_single_member_archive_opens(bool forward)
    {
        var bytes = File.ReadAllBytes(Corpus("dfvfs/syslog.tar"));
        byte[] expected;
        using (var reader = new TarReader(new MemoryStream(bytes)))
        {
            var entry = reader.GetNextEntry()!;
            using var copy = new MemoryStream();
            entry.DataStream!.CopyTo(copy);
            expected = copy.ToArray();
        }

        if (forward)
        {
            // Forward-only reading takes only image-like names or disk/, and "syslog" is neither.
            var refusal = Refusal(() => TarLayer.Open(ForwardInput(bytes)));
            Assert.Equal("TarNoDiskImage", refusal.ErrorId);
            Assert.Contains("forward-only", refusal.Message);
            Assert.Contains("'syslog'", refusal.Message);
            return;
        }

        var (member, choice) = TarLayer.Open(RandomInput(bytes));
        using (member)
        {
            Assert.Equal(new TarMemberChoice("syslog", 1247, false, "the only regular file"), choice);
            Assert.Equal(expected, ReadAll(member));
        }
    }

    [Theory]
    [InlineData("dfvfs/absolute_paths.tar", false)]
    [InlineData("dfvfs/absolute_paths.tar", true)]
    [InlineData("dfvfs/mixed_paths.tar", false)]
    [InlineData("dfvfs/mixed_paths.tar", true)]
    public void Absolute_member_names_are_read_as_relative_and_nothing_is_written(string fixture, bool forward)
    {
        var before = Directory.GetFileSystemEntries(workspace.Root).Length;
        var refusal = Refusal(() => TarLayer.Open(Input(File.ReadAllBytes(Corpus(fixture)), forward)));

        Assert.Equal("TarNoDiskImage", refusal.ErrorId);
        Assert.Contains("'folder/syslog'", refusal.Message);
        Assert.Contains("'folder/wtmp.1'", refusal.Message);
        Assert.DoesNotContain("'/folder", refusal.Message);
        Assert.Equal(before, Directory.GetFileSystemEntries(workspace.Root).Length);
        Assert.False(Directory.Exists("/folder"));
    }

    [Fact]
    public void An_absolute_disk_name_is_chosen_under_its_relative_name()
    {
        var content = Pattern(600, 2);
        byte[] archive = [.. TarBlocks.Header("/disk/x", content.Length, '0'), .. TarBlocks.Padded(content), .. TarBlocks.Header("./notes", 0, '0'), .. TarBlocks.End];

        var (member, choice) = TarLayer.Open(ForwardInput(archive));
        using (member)
        {
            Assert.Equal("disk/x", choice.Name);
            Assert.Equal(content, ReadAll(member));
        }
    }

    private static long TarBlocksPadded(long size) => size + ((512 - (size % 512)) % 512);
}
