using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Holds <see cref="EngineSupport"/> to its word, since Get-CdiSupportMatrix -Engine shows it to
/// users: every disk format it lists converts, with random access and forward behind gzip, to what
/// qemu-img gives, keeping the scratch bytes it claims.
/// </summary>
public sealed class EngineSupportTests(MixedDisk disk) : IClassFixture<MixedDisk>
{
    public static TheoryData<string> DiskFormats() => [.. EngineSupport.DiskFormats];

    [Theory]
    [MemberData(nameof(DiskFormats))]
    public void Every_listed_format_converts_in_one_pass_with_the_scratch_bytes_claimed(string format)
    {
        using var work = new TemporaryDirectory();
        var image = work.File("disk." + format);
        Qemu.ConvertFromRaw(disk.Path, image, format);
        var qemu = Qemu.ConvertToRaw(image, work.Path, format);
        ExternalTool.Shell($"gzip -c -1 '{image}' > '{image}.gz'");

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image + ".gz", work.File("forward.raw"));

        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.Equal(format, random.FormatChain[^1]);
        Assert.Equal(["gzip", format], forward.FormatChain.Select(layer => layer.Split(' ')[0]));
        Assert.Equal(EngineSupport.ScratchBytesForOrderedImages, random.ScratchBytes);
        Assert.Equal(EngineSupport.ScratchBytesForOrderedImages, forward.ScratchBytes);
    }

    [Fact]
    public void The_list_names_formats_as_qemu_img_does_and_converts_asks_it()
    {
        Assert.Contains("qcow2", EngineSupport.DiskFormats);
        Assert.True(EngineSupport.Converts("QCOW2"));
        Assert.False(EngineSupport.Converts("bochs"));
        Assert.True(EngineSupport.Reads("https"));
        Assert.False(EngineSupport.Reads("ftp"));
    }
}
