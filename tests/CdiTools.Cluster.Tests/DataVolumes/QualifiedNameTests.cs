using CdiTools.Cluster.DataVolumes;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Names as kubectl users write and print them.</summary>
public sealed class QualifiedNameTests
{
    [Theory]
    [InlineData("disk", "vms", "disk")]
    [InlineData("other/disk", "other", "disk")]
    [InlineData("datavolume.cdi.kubevirt.io/disk", "vms", "disk")]
    [InlineData("dv/other/web-*", "other", "web-*")]
    public void A_name_may_carry_its_namespace_and_kubectl_s_kind_prefix(string text, string ns, string name) =>
        Assert.Equal((ns, name), QualifiedName.Split(text, "vms"));

    [Theory]
    [InlineData("a/b/c")]
    [InlineData("/disk")]
    [InlineData("vms/")]
    public void Anything_else_is_refused_saying_which_forms_are_meant(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => QualifiedName.Split(text, "vms"));

        Assert.Contains("neither NAME nor NAMESPACE/NAME", error.Message);
    }
}
