using CdiTools.Cluster.Scratch;

namespace CdiTools.Cluster.Tests.Scratch;

public sealed class ScratchStorageClassRulesTests
{
    private static readonly string[] Classes = ["fast", "standard"];
    private static readonly CdiVersion Old = CdiVersion.Parse("v1.64.0");
    private static readonly CdiVersion Current = CdiVersion.Parse("v1.65.0");

    [Fact]
    public void Releases_before_v1_65_0_fall_back_to_the_default_class_and_later_ones_do_not()
    {
        Assert.True(ScratchStorageClassRules.FallsBackToDefaultClass(Old));
        Assert.False(ScratchStorageClassRules.FallsBackToDefaultClass(Current));
        Assert.False(ScratchStorageClassRules.FallsBackToDefaultClass(null));
    }

    [Theory]
    [InlineData("fast", "v1.64.0", "fast")]
    [InlineData("fast", "v1.66.0", "fast")]
    [InlineData("missing", "v1.64.0", "standard")]
    [InlineData("missing", "v1.66.0", null)]
    [InlineData(null, "v1.64.0", "standard")]
    [InlineData(null, "v1.65.0", null)]
    public void The_status_cdi_computes_follows_its_release(string? configured, string release, string? status)
    {
        Assert.Equal(status, ScratchStorageClassRules.ExpectedStatus(configured, Classes, "standard", CdiVersion.Parse(release)));
    }

    [Fact]
    public void A_configured_class_that_exists_decides_in_both_rule_sets()
    {
        foreach (var release in new[] { Old, Current })
        {
            var steps = ScratchStorageClassRules.Resolve("fast", Classes, "standard", release, forDataVolume: false, dataVolumeClass: null);

            Assert.Equal(1, steps.Single(s => s.Applies).Order);
            Assert.Equal("fast", steps[0].Value);
        }
    }

    [Fact]
    public void Before_v1_65_0_a_missing_class_falls_to_the_default_class()
    {
        var steps = ScratchStorageClassRules.Resolve("missing", Classes, "standard", Old, forDataVolume: true, dataVolumeClass: "fast");

        Assert.Equal(4, steps.Count);
        Assert.Contains("no such StorageClass", steps[0].Value);
        Assert.True(steps[1].Applies);
        Assert.Equal("standard", steps[1].Value);
        Assert.Contains("default StorageClass", steps[1].Rule);
    }

    [Fact]
    public void Since_v1_65_0_a_missing_class_falls_to_the_data_volumes_own_class_then_to_admission()
    {
        var withClass = ScratchStorageClassRules.Resolve("missing", Classes, "standard", Current, forDataVolume: true, dataVolumeClass: "fast");
        var without = ScratchStorageClassRules.Resolve(null, Classes, null, Current, forDataVolume: true, dataVolumeClass: null);

        Assert.Equal(3, withClass.Count);
        Assert.DoesNotContain(withClass, s => s.Rule.Contains("default StorageClass (CDI before", StringComparison.Ordinal));
        Assert.Equal(2, withClass.Single(s => s.Applies).Order);
        Assert.Equal("fast", withClass[1].Value);
        Assert.Equal(3, without.Single(s => s.Applies).Order);
        Assert.Contains("stays Pending", without[2].Value);
    }

    [Fact]
    public void Without_a_data_volume_the_data_volume_step_says_it_depends()
    {
        var steps = ScratchStorageClassRules.Resolve(null, Classes, "standard", Current, forDataVolume: false, dataVolumeClass: null);

        Assert.Equal("depends on each DataVolume", steps[1].Value);
        Assert.True(steps[1].Applies);
    }
}
