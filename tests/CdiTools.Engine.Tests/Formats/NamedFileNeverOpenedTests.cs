using CdiTools.Engine.Formats;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Files an image names but the engine does not read (qcow2 backing and external data files,
/// VMDK, VHD and VHDX parents) are named in the image's details and in the refusal, and never
/// opened. Each named file is a FIFO here: opening it to read would wait for a writer that never
/// comes, so a test that ends proves the file was left alone.
/// </summary>
public sealed class NamedFileNeverOpenedTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TemporaryDirectory work = new();

    public void Dispose() => work.Dispose();

    [Fact]
    public Task A_qcow2_backing_file_is_named_not_opened() => AssertNamedNotOpened(
        "child.qcow2",
        "base.raw",
        "Qcow2BackingFileNotSupported",
        () =>
        {
            File.WriteAllBytes(work.File("base.raw"), new byte[1 << 20]);
            ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "child.qcow2", "1M");
        },
        details => Assert.Equal("base.raw", details.BackingFile));

    [Fact]
    public Task A_qcow2_external_data_file_is_named_not_opened() => AssertNamedNotOpened(
        "disk.qcow2",
        "disk-data.raw",
        "Qcow2ExternalDataFileNotSupported",
        () => ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=disk-data.raw", "disk.qcow2", "1M"),
        details => Assert.Equal("disk-data.raw", details.DataFile));

    [Fact]
    public Task A_vmdk_parent_is_named_not_opened() => AssertNamedNotOpened(
        "child.vmdk",
        "parent.vmdk",
        "VmdkParentNotSupported",
        () =>
        {
            ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "vmdk", "parent.vmdk", "1M");
            ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "vmdk", "-b", "parent.vmdk", "-F", "vmdk", "child.vmdk");
        },
        details => Assert.Equal("parent.vmdk", details.BackingFile));

    [Fact]
    public Task A_vhd_parent_is_named_not_opened() => AssertNamedNotOpened(
        "fat-differential.vhd",
        "fat-parent.vhd",
        "VhdDifferencingNotSupported",
        () => File.Copy(VhdTestImages.Corpus("dfvfs/fat-differential.vhd"), work.File("fat-differential.vhd")),
        details => Assert.EndsWith("fat-parent.vhd", details.BackingFile));

    [Fact]
    public Task A_vhdx_parent_is_named_not_opened() => AssertNamedNotOpened(
        "child.vhdx",
        "base-disk.vhdx",
        "VhdxDifferencingUnsupported",
        () =>
        {
            ExternalTool.RunIn(work.Path, "qemu-img", "create", "-q", "-f", "vhdx", "child.vhdx", "8M");
            VhdxImages.AddParentLocator(work.File("child.vhdx"), "base-disk.vhdx");
        },
        details => Assert.Equal("base-disk.vhdx", details.BackingFile));

    // describe: what the image's details say of the named file, which opening the image to
    // describe it must not open either; the conversion is refused with errorId.
    private async Task AssertNamedNotOpened(string image, string named, string errorId, Action make, Action<ImageDetails> describe)
    {
        make();
        File.Delete(work.File(named));
        ExternalTool.Run("mkfifo", work.File(named));
        var path = work.File(image);

        var info = await Task.Run(() =>
        {
            using var opened = LocalImages.Open(path);
            return (opened.Details, opened.Refusal);
        }).WaitAsync(Patience);
        var error = await Task.Run(() => Assert.Throws<ImageException>(() => Run.FileToFile(path, work.File("out.raw")))).WaitAsync(Patience);
        var forward = await Task.Run(() => Assert.Throws<ImageException>(() => Run.StreamToFile(path, work.File("out.raw")))).WaitAsync(Patience);

        describe(info.Details);
        Assert.Equal(errorId, info.Refusal?.ErrorId);
        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(errorId, forward.ErrorId);
        Assert.Contains(named, error.Message);
        Assert.DoesNotContain("out.raw", work.Files());
    }
}
