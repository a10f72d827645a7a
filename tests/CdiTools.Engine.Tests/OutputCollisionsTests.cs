namespace CdiTools.Engine.Tests;

/// <summary>Which outputs of one call land in the same place, and how names that differ only in case count.</summary>
public sealed class OutputCollisionsTests
{
    [Fact]
    public void Each_output_learns_every_other_that_shares_its_place_and_a_lone_one_learns_none()
    {
        var found = OutputCollisions.Find(["/out/demo.raw", "/out/x.raw", "/out/demo.raw", "/out/demo.raw"], ignoreCase: false);

        Assert.Equal([2, 3], found[0]);
        Assert.Empty(found[1]);
        Assert.Equal([0, 3], found[2]);
        Assert.Equal([0, 2], found[3]);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 1)]
    public void Names_that_differ_only_in_case_collide_where_the_file_system_ignores_case(bool ignoreCase, int others)
    {
        var found = OutputCollisions.Find(["/out/Demo.raw", "/out/demo.raw"], ignoreCase);

        Assert.Equal(others, found[0].Length);
    }

    [Fact]
    public void A_folder_destination_gives_one_name_to_images_of_one_base_name()
    {
        string[] images = ["demo.vhd", "demo.vhdx", "demo.vdi.zst", "x.qcow2", "x.qcow2.xz", "y.qcow2"];
        var destinations = images.Select(i => LocalImport.ResolveDestination(Path.GetTempPath(), ImageLocation.File(Path.Combine(Path.GetTempPath(), i)))).ToList();

        var found = OutputCollisions.Find(destinations, ignoreCase: false);

        Assert.Equal([2, 2, 2, 1, 1, 0], found.Select(f => f.Length));
    }
}
