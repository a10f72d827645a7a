using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.Tests;

public sealed class CdiVersionTests
{
    private static readonly string[] BackportReleases = ["v1.57.1", "v1.58.4", "v1.59.1", "v1.60.0"];

    [Theory]
    [InlineData("v1.66.0", 1, 66, 0, null)]
    [InlineData("1.66.0", 1, 66, 0, null)]
    [InlineData("1.66", 1, 66, 0, null)]
    [InlineData(" v1.58.0-rc1 ", 1, 58, 0, "rc1")]
    public void Parses_release_numbers_as_cdi_and_users_write_them(string text, int major, int minor, int patch, string? pre)
    {
        Assert.Equal(new CdiVersion(major, minor, patch, pre), CdiVersion.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("latest")]
    [InlineData("v1")]
    [InlineData("v1.66.0.1")]
    [InlineData("v-1.66.0")]
    public void Refuses_anything_else(string text)
    {
        Assert.False(CdiVersion.TryParse(text, out _));
        Assert.Contains(text, Assert.Throws<FormatException>(() => CdiVersion.Parse(text)).Message);
    }

    [Fact]
    public void Orders_by_number_and_prints_with_the_v()
    {
        Assert.True(CdiVersion.Parse("v1.9.0") < CdiVersion.Parse("v1.10.0"));
        Assert.True(CdiVersion.Parse("v1.58.4") > CdiVersion.Parse("v1.58.3"));
        Assert.Equal("v1.58.0-rc1", CdiVersion.Parse("1.58.0-rc1").ToString());
        Assert.Equal("v1.66.0", CdiVersion.Parse("1.66").ToString());
    }

    [Theory]
    [InlineData("v1.57.0", false)]
    [InlineData("v1.57.1", true)]
    [InlineData("v1.57.9", true)]
    [InlineData("v1.58.3", false)]
    [InlineData("v1.58.4", true)]
    [InlineData("v1.59.0", false)]
    [InlineData("v1.60.0", true)]
    [InlineData("v1.70.2", true)]
    [InlineData("v1.56.0", false)]
    public void A_backported_change_is_in_each_branch_from_its_first_release_there(string release, bool contained)
    {
        var change = new SupportChange("t", 3219, "c", BackportReleases.Select(CdiVersion.Parse).ToArray());

        Assert.Equal(contained, change.IsIn(CdiVersion.Parse(release)));
    }
}
