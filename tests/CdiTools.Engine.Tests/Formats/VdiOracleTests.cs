using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// VDIs qemu-img writes (dynamic, and static with -o static=on), converted by the engine with
/// random access and forward from a stream: byte-identical to qemu-img convert -O raw, with
/// nothing kept when read forward.
/// </summary>
public sealed class VdiOracleTests(BlockImageDisk disk) : IClassFixture<BlockImageDisk>
{
    public static TheoryData<string, string[]> Variants => new()
    {
        { "dynamic", [] },
        { "static", ["static=on"] },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Random_access_and_forward_outputs_equal_qemu_img(string subformat, string[] options)
    {
        using var work = new TemporaryDirectory();
        var image = VhdTestImages.Make(disk.Path, work, "vdi", subformat + ".vdi", options);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var streamed = Run.Checked(Run.StreamToFile, image, work.File("streamed.raw"));
        var gzipped = Run.Checked(Run.FileToFile, VhdTestImages.Gzip(image), work.File("gzipped.raw"));
        using var opened = LocalImages.Open(image);

        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, streamed.Sha256);
        Assert.Equal(qemu.Sha256, gzipped.Sha256);
        Assert.Equal(qemu.Length, random.VirtualSize);
        Assert.Equal(["vdi"], random.FormatChain);
        Assert.True(random.RandomAccess);
        Assert.False(streamed.RandomAccess);
        Assert.False(gzipped.RandomAccess);
        Assert.Equal(0, streamed.ScratchBytes + gzipped.ScratchBytes);
        Assert.Equal(0, streamed.KeptBytes + gzipped.KeptBytes);
        Assert.Equal(new FileInfo(image).Length, streamed.BytesRead);
        Assert.Equal(subformat, opened.Details.Subformat);
        Assert.Equal("vdi", opened.Details.Format);
        Assert.True(ExternalTool.AllocatedBytes(work.File("random.raw")) <= qemu.Allocated, $"ours {ExternalTool.AllocatedBytes(work.File("random.raw"))} > qemu {qemu.Allocated}");
    }

    [Fact]
    public void A_disk_size_that_is_not_a_multiple_of_512_rounds_up_as_in_qemu()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("odd.vdi");
        ExternalTool.Run("qemu-img", "create", "-f", "vdi", image, "3M");
        VhdTestImages.QemuIo(image, "vdi", "write -P 0x3c 1M 64k");

        // VBoxManage convertfromraw writes sizes like this one.
        VhdTestImages.Patch(image, 0x170, BitConverter.GetBytes((3L << 20) - 600));
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.FileToFile, image, work.File("ours.raw"));

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal((3L << 20) - 512, result.VirtualSize);
    }

    [Fact]
    public void Unwritten_and_discarded_blocks_read_as_zeros_without_being_read()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("sparse.vdi");
        ExternalTool.Run("qemu-img", "create", "-f", "vdi", image, "64M");
        VhdTestImages.QemuIo(image, "vdi", "write -P 0x71 0 1M", "write -P 0x72 40M 2M");

        // Mark the first block discarded (0xfffffffe): qemu reads it as zeros like an unwritten one.
        VhdTestImages.PatchLittleEndian32(image, 0x200, 0xfffffffe);
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var random = Run.Checked(Run.FileToFile, image, work.File("random.raw"));
        var forward = Run.Checked(Run.StreamToFile, image, work.File("forward.raw"));

        Assert.Equal(qemu.Sha256, random.Sha256);
        Assert.Equal(qemu.Sha256, forward.Sha256);
        Assert.Equal(2L << 20, ExternalTool.AllocatedBytes(work.File("random.raw")));
        Assert.True(random.BytesRead < 3 << 20, $"read {random.BytesRead}");
    }

    [Fact]
    public void Blocks_stored_out_of_guest_order_are_kept_and_spill_past_the_memory_budget()
    {
        using var work = new TemporaryDirectory();
        var image = work.File("reversed.vdi");
        ExternalTool.Run("qemu-img", "create", "-f", "vdi", image, "16M");

        // qemu appends each newly written block, so the highest guest block comes first in the file.
        VhdTestImages.QemuIo(image, "vdi", "write -P 0xcc 12M 1M", "write -P 0xbb 6M 1M", "write -P 0xaa 0 1M");
        var qemu = Qemu.ConvertToRaw(image, work.Path);

        var result = Run.Checked(Run.StreamToFile, image, work.File("ours.raw"), new ImageOpenOptions { MemoryBudget = 1 << 20 });

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(1L << 20, result.ScratchBytes);
        Assert.Equal(2L << 20, result.KeptBytes);
        Assert.Equal(["ours.raw"], work.Files().Where(f => f.StartsWith("ours", StringComparison.Ordinal)));
    }
}
