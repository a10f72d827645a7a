namespace CdiTools.Cluster.Support;

/// <summary>An image format with the compression it travels in, as the rows of CDI's support matrix.</summary>
public enum CdiImageFormat
{
    Qcow2,
    Qcow2Gz,
    Qcow2Xz,
    Raw,
    RawGz,
    RawXz,
    Tar,
}
