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

    // Formats qemu-img reads that CDI does not import: recognised only to refuse them, since
    // taking them as raw would make a disk of their container bytes.
    Bochs,
    Parallels,
    Cloop,
    Qed,
    Luks,
    Dmg,
}
