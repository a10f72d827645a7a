using CdiTools.Engine.Sources;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// A VMDK descriptor names its extents; they are read only where they really lie inside the
/// descriptor's folder. Every way out (a relative climb, an absolute name, a linked folder or
/// file, a chain of links) is refused before anything is written, and the disk never holds a byte
/// of the file outside; extents that stay inside, through links or not, read like qemu-img.
/// </summary>
public sealed class VmdkExtentFolderTests : IDisposable
{
    private const int Sectors = 8192;

    // A file beside the image's folder, standing for any file of the host: its bytes must never
    // reach a disk.
    private static readonly byte[] Secret = Enumerable.Repeat((byte)0x5A, Sectors * 512).ToArray();

    private readonly TemporaryDirectory work = new();

    public VmdkExtentFolderTests()
    {
        Directory.CreateDirectory(ImageFolder);
        Directory.CreateDirectory(OutputFolder);
        Directory.CreateDirectory(work.File("outside"));
        File.WriteAllBytes(SecretPath, Secret);
    }

    private string ImageFolder => work.File("image");

    private string OutputFolder => work.File("output");

    private string SecretPath => work.File("outside/secret.raw");

    public void Dispose() => work.Dispose();

    public static TheoryData<string, string> Escapes => new()
    {
        { "a climb out of the folder", "../outside/secret.raw" },
        { "a deep climb to a system file", "../../../../../../../../../../etc/passwd" },
        { "a climb into a sibling whose name starts like the folder's", "../image-other/secret.raw" },
        { "an absolute path", "{secret}" },
        { "an absolute path to a system file", "/etc/passwd" },
        { "a symbolic link to a file outside", "link:disk-flat.vmdk>{secret}" },
        { "a relative symbolic link that climbs out", "link:disk-flat.vmdk>../outside/secret.raw" },
        { "a symbolic link to a system file", "link:disk-flat.vmdk>/etc/passwd" },
        { "a linked folder", "dirlink:parts>{outside}|parts/secret.raw" },
        { "a chain of links that ends outside", "chain" },
        { "a climb through a linked folder", "dirlink:parts>{outside}|parts/../../outside/secret.raw" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public void An_extent_that_leads_out_of_the_descriptor_s_folder_is_refused_before_anything_is_written(string why, string setup)
    {
        var extent = Arrange(setup);
        var descriptor = WriteDescriptor(extent);

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(descriptor, Path.Combine(OutputFolder, "out.raw")));

        Assert.True(error.ErrorId == "VmdkExtentOutsideFolder", $"{why}: {error.ErrorId}: {error.Message}");
        Assert.Contains("own folder", error.Message);
        Assert.Contains("beside the descriptor", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(OutputFolder));
    }

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task Import_to_a_file_refuses_every_escape_and_leaves_no_file(string why, string setup)
    {
        var descriptor = WriteDescriptor(Arrange(setup));
        var destination = Path.Combine(OutputFolder, "disk.raw");

        var error = await Assert.ThrowsAsync<ImageException>(() => LocalImport.ToFileAsync(
            ImageLocation.File(descriptor), destination, new ImageOpenOptions(), overwrite: false, computeSha256: false, progress: null, CancellationToken.None));

        Assert.True(error.ErrorId == "VmdkExtentOutsideFolder", why);
        Assert.Empty(Directory.GetFileSystemEntries(OutputFolder));
    }

    [Fact]
    public async Task A_fifo_named_as_an_extent_is_refused_without_waiting_for_a_writer()
    {
        ExternalTool.Run("mkfifo", Path.Combine(ImageFolder, "disk-flat.vmdk"));
        var descriptor = WriteDescriptor("disk-flat.vmdk");

        var refusal = Task.Run(() => Assert.Throws<ImageException>(() => Run.FileToFile(descriptor, Path.Combine(OutputFolder, "out.raw"))));

        var error = await refusal.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("VmdkExtentNotAFile", error.ErrorId);
        Assert.Contains("FIFO", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(OutputFolder));
    }

    [Fact]
    public void A_socket_named_as_an_extent_is_refused_as_not_a_file()
    {
        // Any user can make a socket; device nodes need root but take the same file-type check.
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(ImageFolder, "disk-flat.vmdk")));
        var descriptor = WriteDescriptor("disk-flat.vmdk");

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(descriptor, Path.Combine(OutputFolder, "out.raw")));

        Assert.Equal("VmdkExtentNotAFile", error.ErrorId);
        Assert.Contains("is a socket, not a regular file", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(OutputFolder));
    }

    [Fact]
    public void A_folder_named_as_an_extent_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(ImageFolder, "parts"));
        var descriptor = WriteDescriptor("parts");

        var error = Assert.Throws<ImageException>(() => Run.FileToFile(descriptor, Path.Combine(OutputFolder, "out.raw")));

        Assert.Equal("VmdkExtentNotAFile", error.ErrorId);
    }

    [Theory]
    [InlineData("disk-flat.vmdk")]
    [InlineData("./disk-flat.vmdk")]
    [InlineData("parts/../disk-flat.vmdk")]
    [InlineData("link:linked-flat.vmdk>disk-flat.vmdk|linked-flat.vmdk")]
    [InlineData("link:linked-flat.vmdk>data/real-flat.vmdk|linked-flat.vmdk")]
    [InlineData("dirlink:parts>data|parts/real-flat.vmdk")]
    public void An_extent_that_stays_in_the_folder_reads_like_qemu_img_through_links_too(string setup)
    {
        var content = new byte[Sectors * 512];
        new Random(5).NextBytes(content.AsSpan(0, 1 << 20));
        Directory.CreateDirectory(Path.Combine(ImageFolder, "parts"));
        Directory.CreateDirectory(Path.Combine(ImageFolder, "data"));
        File.WriteAllBytes(Path.Combine(ImageFolder, "disk-flat.vmdk"), content);
        File.WriteAllBytes(Path.Combine(ImageFolder, "data", "real-flat.vmdk"), content);
        var descriptor = WriteDescriptor(Arrange(setup));
        var qemu = Qemu.ConvertToRaw(descriptor, work.Path);

        var result = Run.Checked(Run.FileToFile, descriptor, Path.Combine(OutputFolder, "out.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)), result.Sha256);
    }

    [Fact]
    public void A_descriptor_opened_through_a_linked_folder_reads_the_extents_of_that_folder()
    {
        File.WriteAllBytes(Path.Combine(ImageFolder, "disk-flat.vmdk"), new byte[Sectors * 512]);
        WriteDescriptor("disk-flat.vmdk");
        File.CreateSymbolicLink(work.File("images"), ImageFolder);

        var result = Run.Checked(Run.FileToFile, Path.Combine(work.File("images"), "disk.vmdk"), Path.Combine(OutputFolder, "out.raw"));

        Assert.Equal(Sectors * 512, result.VirtualSize);
        Assert.Equal(0, result.AllocatedBytes);
    }

    [Theory]
    [InlineData("/srv/images", "/srv/images/disk-flat.vmdk", true)]
    [InlineData("/srv/images", "/srv/images/parts/disk-flat.vmdk", true)]
    [InlineData("/srv/images", "/srv/images", false)]
    [InlineData("/srv/images", "/srv/images-other/disk-flat.vmdk", false)]
    [InlineData("/srv/images", "/srv/disk-flat.vmdk", false)]
    [InlineData("/", "/etc/passwd", true)]
    public void Inside_means_strictly_below_the_folder_never_a_sibling_with_the_same_prefix(string folder, string path, bool inside)
    {
        Assert.Equal(inside, ReferencedFile.IsInside(path, folder));
    }

    // "name" is used as it is; "link:L>T|name" first makes L a link to T; "dirlink:" the same for a
    // folder; {secret} and {outside} stand for the paths outside; "chain" is a>b>outside.
    private string Arrange(string setup)
    {
        setup = setup.Replace("{secret}", SecretPath, StringComparison.Ordinal).Replace("{outside}", work.File("outside"), StringComparison.Ordinal);
        if (setup == "chain")
        {
            File.CreateSymbolicLink(Path.Combine(ImageFolder, "b"), "../outside/secret.raw");
            File.CreateSymbolicLink(Path.Combine(ImageFolder, "a"), "b");
            return "a";
        }

        if (setup.StartsWith("image-other", StringComparison.Ordinal) || setup.Contains("image-other", StringComparison.Ordinal))
        {
            Directory.CreateDirectory(work.File("image-other"));
            File.WriteAllBytes(work.File("image-other/secret.raw"), Secret);
        }

        var folder = setup.StartsWith("dirlink:", StringComparison.Ordinal);
        if (folder || setup.StartsWith("link:", StringComparison.Ordinal))
        {
            var body = setup[(setup.IndexOf(':') + 1)..];
            var pipe = body.IndexOf('|');
            var link = body[..(pipe < 0 ? body.Length : pipe)].Split('>');
            var linkPath = Path.Combine(ImageFolder, link[0]);
            if (folder)
            {
                if (Directory.Exists(linkPath))
                {
                    Directory.Delete(linkPath);
                }

                Directory.CreateSymbolicLink(linkPath, link[1]);
            }
            else
            {
                File.CreateSymbolicLink(linkPath, link[1]);
            }

            return pipe < 0 ? link[0] : body[(pipe + 1)..];
        }

        return setup;
    }

    private string WriteDescriptor(string extent)
    {
        var descriptor = Path.Combine(ImageFolder, "disk.vmdk");
        File.WriteAllText(descriptor, $"""
            # Disk DescriptorFile
            version=1
            CID=fffffffe
            parentCID=ffffffff
            createType="monolithicFlat"

            # Extent description
            RW {Sectors} FLAT "{extent}" 0

            ddb.adapterType = "ide"

            """);
        return descriptor;
    }
}
