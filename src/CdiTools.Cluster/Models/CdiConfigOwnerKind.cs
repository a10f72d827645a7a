namespace CdiTools.Cluster.Models;

/// <summary>Which object really owns CDI's configuration, so that a change there sticks.</summary>
public enum CdiConfigOwnerKind
{
    /// <summary>The HyperConverged CR: its operator writes the CDI CR over from it.</summary>
    HyperConverged,

    /// <summary>The CDI CR with the config-authority annotation: the CDI operator copies its spec.config over CDIConfig's spec.</summary>
    CdiCustomResource,

    /// <summary>CDIConfig itself, on CDI releases without a config authority (before v1.27.0).</summary>
    CdiConfig,
}
