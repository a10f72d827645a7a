using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>The qcow2 images the oracle tests use, each made from the mixed disk by qemu-img and qemu-io.</summary>
internal static class Qcow2Variants
{
    public static readonly string[] Names =
    [
        "v3", "v2", "clusters-512", "clusters-4k", "clusters-2m", "deflate", "zstd", "deflate-512", "zstd-2m",
        "extended-l2", "subclusters", "refcount-1", "refcount-64", "preallocation-metadata", "preallocation-full",
        "zero-and-discard", "v2-discard", "snapshot", "compressed-tail", "lazy-refcounts", "rewritten", "empty", "odd-size",
        "bitmaps", "dirty",
    ];

    public static string Make(string name, string raw, TemporaryDirectory work)
    {
        var image = work.File(name + ".qcow2");
        void Convert(params string[] options) => ExternalTool.Run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", .. options, raw, image]);

        switch (name)
        {
            case "v3": Convert(); break;
            case "v2": Convert("-o", "compat=0.10"); break;
            case "clusters-512": Convert("-o", "cluster_size=512"); break;
            case "clusters-4k": Convert("-o", "cluster_size=4096"); break;
            case "clusters-2m": Convert("-o", "cluster_size=2M"); break;
            case "deflate": Convert("-c"); break;
            case "zstd": Convert("-c", "-o", "compression_type=zstd"); break;
            case "deflate-512": Convert("-c", "-o", "cluster_size=512"); break;
            case "zstd-2m": Convert("-c", "-o", "compression_type=zstd,cluster_size=2M"); break;
            case "extended-l2": Convert("-o", "extended_l2=on"); break;
            case "refcount-1": Convert("-o", "refcount_bits=1"); break;
            case "refcount-64": Convert("-o", "refcount_bits=64"); break;
            case "preallocation-metadata": Convert("-o", "preallocation=metadata"); break;
            case "preallocation-full": Convert("-o", "preallocation=full"); break;
            case "lazy-refcounts": Convert("-o", "lazy_refcounts=on"); break;
            case "subclusters":
                ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=128k", image, "8M");
                Qemu.Io(image, "write -P 0x11 4k 4k", "write -P 0x22 132k 8k", "write -z 140k 4k", "write -P 0x33 1M 128k", "write -z 1040k 8k", "write -P 0x44 7M 12k");
                break;
            case "zero-and-discard":
                Convert();
                Qemu.Io(image, "write -z 1M 2M", "write -z -u 6M 1M", "discard 10M 1M", "write -P 0x5a 10M 4k", "write -z 12M 64k");
                break;
            case "v2-discard":
                Convert("-o", "compat=0.10");
                Qemu.Io(image, "discard 2M 1M", "write -z 5M 1M", "write -P 0x6b 5M 4k");
                break;
            case "snapshot":
                Convert();
                ExternalTool.Run("qemu-img", "snapshot", "-c", "before", image);
                Qemu.Io(image, "write -P 0x77 0 1M", "write -z 3M 1M", "write -P 0x78 30M 64k");
                break;
            case "compressed-tail":
                // Compressed writes last: the file can end inside the last compressed sector.
                ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "40M");
                Qemu.Io(image, "write -P 0x10 0 1M", "write -c -P 0x33 20M 64k", "write -c -P 0x44 39M 64k", "write -c -P 0x45 2M 64k");
                break;
            case "rewritten":
                // Written by a guest in a scattered order: data clusters come before the L2 tables that map them.
                ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "40M");
                Qemu.Io(image, "write -P 0x01 36M 1M", "write -P 0x02 20M 1M", "write -P 0x03 700k 300k", "write -P 0x04 31M 2M", "write -P 0x05 0 64k");
                break;
            case "bitmaps":
                // A persistent dirty bitmap: a header extension and the autoclear bit, both to be ignored.
                Convert();
                ExternalTool.Run("qemu-img", "bitmap", "--add", image, "backup-0");
                Qemu.Io(image, "write -P 0x21 5M 128k");
                break;
            case "dirty":
                // Lazy refcounts left dirty by a writer killed after allocating (11M is a zero region of the
                // mixed disk, so unallocated): reading is still fine.
                Convert("-o", "lazy_refcounts=on");
                ExternalTool.Shell($"qemu-io -f qcow2 -c 'write -P 0x31 11M 64k' -c 'sigraise 9' '{image}' || true");
                break;
            case "empty":
                ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "1G");
                break;
            case "odd-size":
                ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "10000000");
                Qemu.Io(image, "write -P 0x9c 9990000 9216");
                break;
            default:
                throw new ArgumentException($"No variant {name}.", nameof(name));
        }

        return image;
    }
}
