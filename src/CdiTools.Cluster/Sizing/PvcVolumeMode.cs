namespace CdiTools.Cluster.Sizing;

/// <summary>A PVC's volumeMode: a filesystem holding disk.img, or the raw block device itself.</summary>
public enum PvcVolumeMode
{
    Filesystem,
    Block,
}
