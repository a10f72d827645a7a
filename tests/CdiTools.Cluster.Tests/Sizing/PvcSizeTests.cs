using CdiTools.Cluster.Sizing;

namespace CdiTools.Cluster.Tests.Sizing;

public sealed class PvcSizeTests
{
    [Theory]
    // 819.2 MiB rounds up to 820 MiB, then 6% more: ceil(859832320 * 1.06).
    [InlineData(858993664L, 911422260L)]
    [InlineData(1L << 30, 1138166334L)]
    [InlineData(0L, 0L)]
    [InlineData(1L, 1111491L)]
    public void Filesystem_volumes_round_to_1_MiB_and_add_the_overhead(long virtualSize, long required)
    {
        Assert.Equal(required, PvcSize.Required(virtualSize, PvcVolumeMode.Filesystem));
    }

    [Fact]
    public void Block_volumes_need_the_virtual_size()
    {
        Assert.Equal(858993664L, PvcSize.Required(858993664L, PvcVolumeMode.Block));
    }

    [Fact]
    public void Releases_before_v1_63_0_divided_by_one_minus_the_overhead()
    {
        var old = PvcSize.Required(1L << 30, PvcVolumeMode.Filesystem, release: CdiVersion.Parse("v1.62.0"));
        var current = PvcSize.Required(1L << 30, PvcVolumeMode.Filesystem, release: CdiVersion.Parse("v1.63.0"));

        Assert.Equal((long)Math.Ceiling((1L << 30) / 0.94), old);
        Assert.True(old > current);
    }

    [Fact]
    public void The_storage_API_asks_for_the_disk_and_CDI_grows_the_claim_while_the_pvc_API_asks_for_the_claim()
    {
        const long disk = 10L << 30;

        Assert.Equal(disk, PvcSize.Request(disk, PvcVolumeMode.Filesystem, pvcApi: false));
        Assert.Equal(PvcSize.Required(disk, PvcVolumeMode.Filesystem), PvcSize.Request(disk, PvcVolumeMode.Filesystem, pvcApi: true));
        Assert.Equal(PvcSize.Required(disk, PvcVolumeMode.Filesystem), PvcSize.Claim(disk, PvcVolumeMode.Filesystem, pvcApi: false));
        Assert.Equal(disk, PvcSize.Claim(disk, PvcVolumeMode.Filesystem, pvcApi: true));
        Assert.Equal(disk, PvcSize.Claim(disk, PvcVolumeMode.Block, pvcApi: false));

        // Whichever API is used, the claim holds the disk exactly once with its overhead.
        Assert.Equal(
            PvcSize.Claim(PvcSize.Request(disk, PvcVolumeMode.Filesystem, pvcApi: true), PvcVolumeMode.Filesystem, pvcApi: true),
            PvcSize.Claim(PvcSize.Request(disk, PvcVolumeMode.Filesystem, pvcApi: false), PvcVolumeMode.Filesystem, pvcApi: false));
    }

    [Theory]
    // Claim, its overhead (0 for Block), the scratch class's overhead, release: scratch size in MiB.
    [InlineData(10L << 30, 0.06, 0.06, "v1.66.0", 10240)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.66.0", 10855)]
    [InlineData(10L << 30, 0.06, 0.10, "v1.65.0", 10626)]
    [InlineData(10L << 30, 0.06, 0.06, "v1.62.0", 10240)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.61.0", 10894)]
    [InlineData(10L << 30, 0.06, 0.10, "v1.60.3", 10695)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.60.0", 10240)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.59.2", 10894)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.59.1", 10240)]
    [InlineData(10L << 30, 0.0, 0.06, "v1.58.5", 10894)]
    public void Scratch_space_is_sized_as_the_release_sizes_it(long claim, double claimOverhead, double scratchOverhead, string release, long mebibytes)
    {
        Assert.Equal(mebibytes << 20, PvcSize.Scratch(claim, claimOverhead, scratchOverhead, CdiVersion.Parse(release)));
    }

    [Fact]
    public void Scratch_space_without_a_known_release_is_sized_by_the_current_rule()
    {
        Assert.Equal(PvcSize.Scratch(10L << 30, 0, 0.06, CdiVersion.Parse("v1.66.0")), PvcSize.Scratch(10L << 30, 0, 0.06));
    }

    [Fact]
    public void A_custom_overhead_is_used_and_nonsense_refused()
    {
        Assert.Equal((long)Math.Ceiling((1L << 30) * 1.2), PvcSize.Required(1L << 30, PvcVolumeMode.Filesystem, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PvcSize.Required(1, PvcVolumeMode.Filesystem, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PvcSize.Required(-1, PvcVolumeMode.Filesystem));
    }

    [Theory]
    [InlineData(1L << 30, "1Gi")]
    [InlineData(911422260L, "870Mi")]
    [InlineData(1L << 20, "1Mi")]
    [InlineData(1L, "1Mi")]
    [InlineData(0L, "0")]
    public void A_quantity_is_never_below_the_bytes(long bytes, string quantity)
    {
        Assert.Equal(quantity, PvcSize.ToQuantity(bytes));
    }

    [Theory]
    [InlineData(1L << 30, "1Gi")]
    [InlineData(1536L << 20, "1536Mi")]
    [InlineData(5L << 40, "5Ti")]
    [InlineData((1L << 20) + 1, "1048577")]
    [InlineData(3L << 10, "3Ki")]
    public void Sizes_are_written_in_the_largest_binary_unit_that_divides_them(long bytes, string quantity) =>
        Assert.Equal(quantity, PvcSize.ExactQuantity(bytes));
}
