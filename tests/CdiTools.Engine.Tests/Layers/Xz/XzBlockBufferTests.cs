using CdiTools.Engine.Layers.Xz;

namespace CdiTools.Engine.Tests.Layers.Xz;

/// <summary>
/// The allocator counts the whole process's mappings and other collections decode xz as well, so
/// these tests run on their own, after the parallel ones, with a fixture of their own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class XzBlockBufferSet : ICollectionFixture<XzFiles>
{
    public const string Name = "Xz block buffers";
}

/// <summary>The threaded decoder's buffers of 1 MiB and more are mapped for it and unmapped when liblzma frees them.</summary>
[Collection(XzBlockBufferSet.Name)]
public sealed class XzBlockBufferTests(XzFiles files)
{
    [Fact]
    public void BlocksOfAMebibyteAndMoreDecodeOnEveryCoreThroughBuffersMappedForThem()
    {
        Assert.True(!OperatingSystem.IsLinux() || LzmaBlockAllocator.Allocator != 0, "on Linux the threaded decoder maps its block buffers");
        var payload = XzFiles.Mixed(12 << 20, seed: 7);
        var xz = files.Compress("big-blocks", payload, "-T2", "--block-size=3MiB");
        Assert.Equal(4, files.List(xz).Blocks);

        // One core gets the single-threaded decoder, which is not given the allocator.
        var mapping = LzmaBlockAllocator.Allocator != 0 && Environment.ProcessorCount > 1;
        var (mapped, live) = (LzmaBlockAllocator.Mapped, LzmaBlockAllocator.LiveMappings);

        Assert.Equal(payload, XzFiles.Decode(xz, native: true));

        if (mapping)
        {
            Assert.True(LzmaBlockAllocator.Mapped > mapped, "the decode mapped no buffer: liblzma allocated through malloc");

            // At most as many as before: a stream another test abandoned may have been finalized meanwhile.
            Assert.True(LzmaBlockAllocator.LiveMappings <= live, $"{LzmaBlockAllocator.LiveMappings - live} buffers stay mapped after the decoder was disposed");
        }
    }
}
