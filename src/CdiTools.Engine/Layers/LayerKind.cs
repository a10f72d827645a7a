namespace CdiTools.Engine.Layers;

/// <summary>What the first bytes of a layer say it is.</summary>
public enum LayerKind
{
    Raw,
    Gzip,
    Xz,
    Zstd,
    Tar,
    Qcow2,
    Vmdk,
    Vdi,
    Vhd,
    Vhdx,
}
