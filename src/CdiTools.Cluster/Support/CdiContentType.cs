namespace CdiTools.Cluster.Support;

/// <summary>A DataVolume's <c>spec.contentType</c>: a VM disk image, or a tar archive unpacked into a filesystem volume.</summary>
public enum CdiContentType
{
    Kubevirt,
    Archive,
}
