using System.Text.Json.Nodes;

namespace CdiTools.Testing.FakeCluster;

/// <summary>The storage side: scripts for the provisioners behind the simulated PV controller.</summary>
public sealed partial class FakeApiServer
{
    /// <summary>
    /// Makes <paramref name="provisioner"/> (a StorageClass's provisioner, such as
    /// <c>example.com/csi</c>) fail every volume it is asked for, as an external provisioner
    /// reports it: the claims of its classes stay Pending with a Warning <c>ProvisioningFailed</c>
    /// event <c>failed to provision volume with StorageClass "&lt;class&gt;": &lt;message&gt;</c>.
    /// Volumes it already made stay.
    /// </summary>
    public void FailProvisioning(string provisioner, string message) => volumes.FailProvisioning(provisioner, message);

    /// <summary>Lets <paramref name="provisioner"/> work again; its Pending claims get volumes at the PV controller's next look.</summary>
    public void ClearProvisioningFailure(string provisioner) => volumes.ClearProvisioningFailure(provisioner);

    /// <summary>The StorageClass named <paramref name="name"/>, or null; "" is how claims and volumes say they have none.</summary>
    internal JsonObject? StorageClass(string name) =>
        name.Length == 0 ? null : store.Get(catalog.Find("storage.k8s.io", "v1", "storageclasses")!, "", name);
}
