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
