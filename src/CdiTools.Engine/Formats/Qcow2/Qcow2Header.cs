using System.Buffers.Binary;
using System.Text;

namespace CdiTools.Engine.Formats.Qcow2;

/// <summary>
/// A qcow2 header (versions 2 and 3) with its extensions, checked the way qemu checks it when it
/// opens an image (block/qcow2.c, qcow2_do_open) and more strictly where qemu lets a broken image
/// through. Every refusal is an <see cref="ImageException"/> with a stable id and the offset.
/// </summary>
internal sealed class Qcow2Header
{
    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;
    public const int V2HeaderLength = 72;
    public const int V3MinHeaderLength = 104;
    public const long MaxL1Bytes = 32L << 20;
    public const long MaxRefcountTableBytes = 8L << 20;
    public const int MaxSnapshots = 65536;
    public const int MaxBackingNameLength = 1023;
    public const long MaxHostOffset = 1L << 56;

    // Incompatible feature bits (docs/interop/qcow2.txt).
    public const ulong IncompatDirty = 1UL << 0;
    public const ulong IncompatCorrupt = 1UL << 1;
    public const ulong IncompatDataFile = 1UL << 2;
    public const ulong IncompatCompression = 1UL << 3;
    public const ulong IncompatExtendedL2 = 1UL << 4;
    public const ulong IncompatKnown = 0x1F;

    private const uint ExtensionEnd = 0x00000000;
    private const uint ExtensionBackingFormat = 0xE2792ACA;
    private const uint ExtensionFeatureNames = 0x6803F857;
    private const uint ExtensionBitmaps = 0x23852875;
    private const uint ExtensionFullDiskEncryption = 0x0537BE77;
    private const uint ExtensionDataFile = 0x44415441;

    private static readonly string[] IncompatNames = ["dirty", "corrupt", "external data file", "compression type", "extended L2"];
    private static readonly string[] CompatNames = ["lazy refcounts"];
    private static readonly string[] AutoclearNames = ["bitmaps", "raw external data"];

    private Qcow2Header()
    {
    }

    public int Version { get; private init; }

    public int ClusterBits { get; private init; }

    public int ClusterSize => 1 << ClusterBits;

    /// <summary>The virtual size rounded down to 512 bytes, as qemu sizes the disk.</summary>
    public long VirtualSize { get; private init; }

    public int CryptMethod { get; private init; }

    public int L1Size { get; private init; }

    public long L1TableOffset { get; private init; }

    public long RefcountTableOffset { get; private init; }

    public int RefcountTableClusters { get; private init; }

    public int SnapshotCount { get; private init; }

    public long SnapshotsOffset { get; private init; }

    public ulong IncompatibleFeatures { get; private init; }

    public ulong CompatibleFeatures { get; private init; }

    public ulong AutoclearFeatures { get; private init; }

    public int RefcountOrder { get; private init; }

    public int HeaderLength { get; private init; }

    /// <summary>0 deflate, 1 zstd.</summary>
    public int CompressionType { get; private init; }

    public bool ExtendedL2 => (IncompatibleFeatures & IncompatExtendedL2) != 0;

    /// <summary>Guest clusters one L2 table maps.</summary>
    public int L2Entries => ClusterSize / (ExtendedL2 ? 16 : 8);

    public string? BackingFile { get; private init; }

    public string? BackingFormat { get; private init; }

    public string? DataFile { get; private init; }

    /// <summary>Names of the feature bits that are set, known ones by their spec name, others from the image's table.</summary>
    public IReadOnlyList<string> Features { get; private init; } = [];

    /// <summary>How many bytes of the file <see cref="Parse"/> needs: the whole first cluster.</summary>
    public static int RequiredLength(ReadOnlySpan<byte> head)
    {
        if (head.Length < 24)
        {
            throw new ImageException(ImageErrors.Qcow2HeaderTruncated, $"The image ends after {head.Length} bytes, inside its qcow2 header.", head.Length);
        }

        CheckVersion(BinaryPrimitives.ReadInt32BigEndian(head[4..]));
        var bits = BinaryPrimitives.ReadInt32BigEndian(head[20..]);
        CheckClusterBits(bits);
        return 1 << bits;
    }

    /// <summary>
    /// Parses and checks the header from the image's first cluster.
    /// </summary>
    /// <param name="cluster0">The first cluster of the file, shorter only if the file is.</param>
    /// <param name="fileLength">The file's length when known, for the checks that tables lie inside it.</param>
    public static Qcow2Header Parse(ReadOnlySpan<byte> cluster0, long? fileLength)
    {
        if (cluster0.Length < V2HeaderLength)
        {
            throw new ImageException(ImageErrors.Qcow2HeaderTruncated, $"The qcow2 header needs {V2HeaderLength} bytes; the image has {cluster0.Length}.", cluster0.Length);
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(cluster0) != 0x514649FB)
        {
            throw new ImageException(ImageErrors.Qcow2BadMagic, "The image does not start with the qcow2 magic QFI\\xFB.", 0);
        }

        var version = BinaryPrimitives.ReadInt32BigEndian(cluster0[4..]);
        CheckVersion(version);

        var clusterBits = BinaryPrimitives.ReadInt32BigEndian(cluster0[20..]);
        CheckClusterBits(clusterBits);
        var clusterSize = 1 << clusterBits;

        var headerLength = V2HeaderLength;
        ulong incompatible = 0, compatible = 0, autoclear = 0;
        var refcountOrder = 4;
        var compressionType = 0;
        if (version == 3)
        {
            if (cluster0.Length < V3MinHeaderLength)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderTruncated, $"A version 3 header needs {V3MinHeaderLength} bytes; the image has {cluster0.Length}.", cluster0.Length);
            }

            incompatible = BinaryPrimitives.ReadUInt64BigEndian(cluster0[72..]);
            compatible = BinaryPrimitives.ReadUInt64BigEndian(cluster0[80..]);
            autoclear = BinaryPrimitives.ReadUInt64BigEndian(cluster0[88..]);
            refcountOrder = BinaryPrimitives.ReadInt32BigEndian(cluster0[96..]);
            headerLength = BinaryPrimitives.ReadInt32BigEndian(cluster0[100..]);
            if (headerLength < V3MinHeaderLength || headerLength % 8 != 0)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderLengthInvalid, $"header_length {headerLength} is invalid: version 3 needs at least {V3MinHeaderLength} and a multiple of 8.", 100);
            }

            if (headerLength > clusterSize)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderLengthInvalid, $"header_length {headerLength} is larger than the cluster size {clusterSize}.", 100);
            }

            if (headerLength > 104)
            {
                if (cluster0.Length < 105)
                {
                    throw new ImageException(ImageErrors.Qcow2HeaderTruncated, "The image ends inside its header.", cluster0.Length);
                }

                compressionType = cluster0[104];
            }
        }

        var backingOffset = BinaryPrimitives.ReadInt64BigEndian(cluster0[8..]);
        var backingSize = BinaryPrimitives.ReadInt32BigEndian(cluster0[16..]);
        if (backingOffset < 0 || backingOffset > clusterSize || (backingOffset != 0 && backingOffset < headerLength))
        {
            throw new ImageException(ImageErrors.Qcow2BackingFileOffsetInvalid, $"The backing file name offset {backingOffset} lies outside the header cluster.", 8);
        }

        if (compressionType is not (0 or 1))
        {
            throw new ImageException(ImageErrors.Qcow2CompressionTypeInvalid, $"Compression type {compressionType} is unknown; qcow2 defines 0 (deflate) and 1 (zstd).", 104);
        }

        if ((compressionType != 0) != ((incompatible & IncompatCompression) != 0))
        {
            throw new ImageException(ImageErrors.Qcow2CompressionTypeMismatch,
                compressionType != 0
                    ? $"Compression type {compressionType} is set but the compression-type incompatible feature bit is not."
                    : "The compression-type incompatible feature bit is set but the compression type is deflate.",
                compressionType != 0 ? 104 : 72);
        }

        // Header extensions sit between header_length and the backing file name (or the cluster's end).
        var extensionEnd = backingOffset != 0 ? (int)backingOffset : clusterSize;
        var featureTable = new Dictionary<(int Type, int Bit), string>();
        string? backingFormat = null, dataFile = null;
        var hasBitmaps = false;
        var hasEncryptionHeader = false;
        for (var at = headerLength; ;)
        {
            if (at + 8 > extensionEnd)
            {
                break;
            }

            if (at + 8 > cluster0.Length)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderTruncated, "The image ends inside its header extensions.", at);
            }

            var type = BinaryPrimitives.ReadUInt32BigEndian(cluster0[at..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(cluster0[(at + 4)..]);
            if (type == ExtensionEnd)
            {
                break;
            }

            if (length > (uint)(extensionEnd - at - 8))
            {
                throw new ImageException(ImageErrors.Qcow2ExtensionTooLarge, $"Header extension 0x{type:X8} of {length} bytes runs past the header area, which ends at {extensionEnd}.", at);
            }

            if (at + 8 + length > cluster0.Length)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderTruncated, "The image ends inside a header extension.", at);
            }

            var data = cluster0.Slice(at + 8, (int)length);
            switch (type)
            {
                case ExtensionBackingFormat:
                    if (length >= 16)
                    {
                        throw new ImageException(ImageErrors.Qcow2ExtensionInvalid, $"The backing format name is {length} bytes long; qemu allows at most 15.", at);
                    }

                    backingFormat = Encoding.UTF8.GetString(data);
                    break;
                case ExtensionFeatureNames:
                    for (var entry = 0; entry + 48 <= data.Length; entry += 48)
                    {
                        var name = data.Slice(entry + 2, 46);
                        var end = name.IndexOf((byte)0);
                        featureTable[(data[entry], data[entry + 1])] = Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
                    }

                    break;
                case ExtensionBitmaps:
                    if (length != 24)
                    {
                        throw new ImageException(ImageErrors.Qcow2ExtensionInvalid, $"The bitmaps extension is {length} bytes long; it must be 24.", at);
                    }

                    hasBitmaps = true;
                    break;
                case ExtensionFullDiskEncryption:
                    if (length != 16)
                    {
                        throw new ImageException(ImageErrors.Qcow2ExtensionInvalid, $"The encryption header extension is {length} bytes long; it must be 16.", at);
                    }

                    hasEncryptionHeader = true;
                    break;
                case ExtensionDataFile:
                    dataFile = Encoding.UTF8.GetString(data);
                    break;
                default:
                    // Unknown extensions are safe to ignore (qemu keeps them for writing back).
                    break;
            }

            at += 8 + (int)((length + 7) & ~7u);
        }

        var unknownIncompatible = incompatible & ~IncompatKnown;
        if (unknownIncompatible != 0)
        {
            var names = Bits(unknownIncompatible).Select(bit => featureTable.TryGetValue((0, bit), out var name) ? $"{name} (bit {bit})" : $"unknown feature bit {bit}");
            throw new ImageException(ImageErrors.Qcow2UnsupportedFeature, $"The image uses qcow2 features this reader does not know: {string.Join(", ", names)}.", 72);
        }

        if ((incompatible & IncompatExtendedL2) != 0 && clusterBits < 14)
        {
            throw new ImageException(ImageErrors.Qcow2SubclusterTooSmall, $"Extended L2 entries need clusters of at least 16 KiB so that subclusters are at least 512 bytes; this image has {clusterSize}-byte clusters.", 20);
        }

        if (refcountOrder > 6)
        {
            throw new ImageException(ImageErrors.Qcow2RefcountOrderInvalid, $"refcount_order {refcountOrder} is above the maximum 6.", 96);
        }

        var cryptMethod = BinaryPrimitives.ReadInt32BigEndian(cluster0[32..]);
        var l1Size = BinaryPrimitives.ReadInt32BigEndian(cluster0[36..]);
        var l1Offset = BinaryPrimitives.ReadInt64BigEndian(cluster0[40..]);
        var refcountTableOffset = BinaryPrimitives.ReadInt64BigEndian(cluster0[48..]);
        var refcountTableClusters = BinaryPrimitives.ReadInt32BigEndian(cluster0[56..]);
        var snapshotCount = BinaryPrimitives.ReadInt32BigEndian(cluster0[60..]);
        var snapshotsOffset = BinaryPrimitives.ReadInt64BigEndian(cluster0[64..]);
        var size = BinaryPrimitives.ReadInt64BigEndian(cluster0[24..]);

        if (size < 0)
        {
            throw new ImageException(ImageErrors.Qcow2VirtualSizeInvalid, $"The virtual size {(ulong)size} does not fit in a signed 64-bit integer.", 24);
        }

        if (refcountTableClusters <= 0)
        {
            throw new ImageException(ImageErrors.Qcow2RefcountTableInvalid, "The image has no refcount table.", 56);
        }

        CheckTable(ImageErrors.Qcow2RefcountTableInvalid, "refcount table", refcountTableOffset, (long)refcountTableClusters * clusterSize, MaxRefcountTableBytes, clusterSize, 48, fileLength);
        if (snapshotCount < 0 || snapshotCount > MaxSnapshots)
        {
            throw new ImageException(ImageErrors.Qcow2SnapshotTableInvalid, $"{snapshotCount} snapshots is more than qcow2 allows ({MaxSnapshots}).", 60);
        }

        // qemu accepts any aligned offset, even 0 (a corpus image uses it); the table is not read here.
        if (snapshotCount > 0 && (snapshotsOffset < 0 || snapshotsOffset % clusterSize != 0))
        {
            throw new ImageException(ImageErrors.Qcow2SnapshotTableInvalid, $"The snapshot table offset {snapshotsOffset} is not cluster-aligned.", 64);
        }

        if (l1Size < 0)
        {
            throw new ImageException(ImageErrors.Qcow2L1TableInvalid, $"The L1 size {(uint)l1Size} is invalid.", 36);
        }

        CheckTable(ImageErrors.Qcow2L1TableInvalid, "L1 table", l1Offset, (long)l1Size * 8, MaxL1Bytes, clusterSize, 40, fileLength);

        var l2Entries = clusterSize / ((incompatible & IncompatExtendedL2) != 0 ? 16 : 8);
        var bytesPerL1Entry = (long)clusterSize * l2Entries;
        var neededL1 = (size + bytesPerL1Entry - 1) / bytesPerL1Entry;
        if (neededL1 > int.MaxValue)
        {
            throw new ImageException(ImageErrors.Qcow2TooBig, $"The virtual size {size:N0} needs more L1 entries than qemu allows.", 24);
        }

        if (l1Size < neededL1)
        {
            throw new ImageException(ImageErrors.Qcow2L1TooSmall, $"The L1 table has {l1Size} entries; a virtual size of {size:N0} needs {neededL1}.", 36);
        }

        if ((incompatible & IncompatDataFile) == 0 && (autoclear & 2) != 0)
        {
            throw new ImageException(ImageErrors.Qcow2DataFileInvalid, "The raw-external-data bit is set but the image has no external data file.", 88);
        }

        string? backingFile = null;
        if (backingOffset != 0)
        {
            if (backingSize < 0 || backingSize > MaxBackingNameLength || backingOffset + backingSize > clusterSize)
            {
                throw new ImageException(ImageErrors.Qcow2BackingFileNameInvalid, $"The backing file name of {backingSize} bytes is too long or runs past the header cluster.", 16);
            }

            if (backingOffset + backingSize > cluster0.Length)
            {
                throw new ImageException(ImageErrors.Qcow2HeaderTruncated, "The image ends inside its backing file name.", backingOffset);
            }

            backingFile = Encoding.UTF8.GetString(cluster0.Slice((int)backingOffset, backingSize));
        }

        var features = new List<string>();
        features.AddRange(Bits(incompatible).Select(bit => bit < IncompatNames.Length ? IncompatNames[bit] : $"incompatible bit {bit}"));
        features.AddRange(Bits(compatible).Select(bit => bit < CompatNames.Length ? CompatNames[bit] : featureTable.GetValueOrDefault((1, bit), $"compatible bit {bit}")));
        features.AddRange(Bits(autoclear).Select(bit => bit < AutoclearNames.Length ? AutoclearNames[bit] : featureTable.GetValueOrDefault((2, bit), $"autoclear bit {bit}")));
        if (hasBitmaps && (autoclear & 1) == 0)
        {
            features.Add("bitmaps (inconsistent)");
        }

        if (hasEncryptionHeader && cryptMethod != 2)
        {
            throw new ImageException(ImageErrors.Qcow2ExtensionInvalid, "The image has a LUKS header extension but its encryption method is not LUKS.", 32);
        }

        return new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            VirtualSize = size / 512 * 512,
            CryptMethod = cryptMethod,
            L1Size = l1Size,
            L1TableOffset = l1Offset,
            RefcountTableOffset = refcountTableOffset,
            RefcountTableClusters = refcountTableClusters,
            SnapshotCount = snapshotCount,
            SnapshotsOffset = snapshotsOffset,
            IncompatibleFeatures = incompatible,
            CompatibleFeatures = compatible,
            AutoclearFeatures = autoclear,
            RefcountOrder = refcountOrder,
            HeaderLength = headerLength,
            CompressionType = compressionType,
            BackingFile = backingFile,
            BackingFormat = backingFormat,
            DataFile = dataFile,
            Features = features,
        };
    }

    /// <summary>
    /// What the engine cannot convert on its own: a backing file (the image is only a difference
    /// to it), an external data file (the data lives elsewhere), and encryption; null when none.
    /// </summary>
    public ImageException? Refusal()
    {
        if (BackingFile is not null)
        {
            return new ImageException(ImageErrors.Qcow2BackingFileNotSupported,
                $"The image is an overlay on the backing file '{BackingFile}'{(BackingFormat is null ? string.Empty : $" ({BackingFormat})")}; convert the whole chain first (qemu-img convert -O qcow2 overlay merged.qcow2) and import the result.",
                8);
        }

        if ((IncompatibleFeatures & IncompatDataFile) != 0)
        {
            return new ImageException(ImageErrors.Qcow2ExternalDataFileNotSupported,
                $"The image keeps its data in the external file '{DataFile ?? "(not named)"}'; convert it with qemu-img first.",
                72);
        }

        if (CryptMethod != 0)
        {
            var method = CryptMethod switch { 1 => "AES (legacy)", 2 => "LUKS", _ => $"method {CryptMethod}" };
            return new ImageException(ImageErrors.Qcow2EncryptionNotSupported, $"The image is encrypted with {method}; decrypt it with qemu-img first.", 32);
        }

        return null;
    }

    private static void CheckVersion(int version)
    {
        if (version is not (2 or 3))
        {
            throw new ImageException(ImageErrors.Qcow2UnsupportedVersion,
                version == 1
                    ? "The image is in the original qcow format (version 1), which CDI does not accept; convert it with qemu-img first."
                    : $"qcow2 version {version} is not supported; only versions 2 and 3 exist.",
                4);
        }
    }

    private static void CheckClusterBits(int bits)
    {
        if (bits is < MinClusterBits or > MaxClusterBits)
        {
            throw new ImageException(ImageErrors.Qcow2ClusterBitsOutOfRange, $"cluster_bits {bits} is outside {MinClusterBits}..{MaxClusterBits} (512 B to 2 MiB clusters).", 20);
        }
    }

    private static void CheckTable(ImageError errorId, string what, long offset, long bytes, long max, int clusterSize, long field, long? fileLength)
    {
        if (bytes > max)
        {
            throw new ImageException(errorId, $"The {what} is {bytes:N0} bytes; qemu allows at most {max:N0}.", field);
        }

        if (offset < 0 || offset % clusterSize != 0 || (bytes > 0 && offset == 0))
        {
            throw new ImageException(errorId, $"The {what} offset {offset} is not a valid cluster-aligned offset.", field);
        }

        if (offset > MaxHostOffset)
        {
            throw new ImageException(errorId, $"The {what} offset {offset:N0} is beyond the largest qcow2 offset.", field);
        }

        if (fileLength is { } length && offset + bytes > length)
        {
            throw new ImageException(errorId, $"The {what} at {offset:N0} ({bytes:N0} bytes) runs past the end of the {length:N0}-byte file.", field);
        }
    }

    private static IEnumerable<int> Bits(ulong value)
    {
        for (var bit = 0; bit < 64; bit++)
        {
            if ((value & (1UL << bit)) != 0)
            {
                yield return bit;
            }
        }
    }
}
