namespace CdiTools.Engine;

/// <summary>
/// Every error id the engine reports, each declared once with its kind, so an id can be found by
/// search and the cmdlets report it by its kind. Ids are stable across releases: scripts and tests
/// tell refusals apart by them.
/// </summary>
public static class ImageErrors
{
    public static readonly ImageError ChecksumForAnotherFile = new(nameof(ChecksumForAnotherFile), ImageErrorKind.InvalidArgument);
    public static readonly ImageError ChecksumMismatch = new(nameof(ChecksumMismatch), ImageErrorKind.Mismatch);

    public static readonly ImageError EmptyImage = new(nameof(EmptyImage), ImageErrorKind.Invalid);

    public static readonly ImageError GzipCorrupt = new(nameof(GzipCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError GzipTruncated = new(nameof(GzipTruncated), ImageErrorKind.Invalid);

    public static readonly ImageError HttpCaBundleInvalid = new(nameof(HttpCaBundleInvalid), ImageErrorKind.Security);
    public static readonly ImageError HttpConnectFailed = new(nameof(HttpConnectFailed), ImageErrorKind.Connection);
    public static readonly ImageError HttpError = new(nameof(HttpError), ImageErrorKind.Connection);
    public static readonly ImageError HttpNotFound = new(nameof(HttpNotFound), ImageErrorKind.NotFound);
    public static readonly ImageError HttpRangeMismatch = new(nameof(HttpRangeMismatch), ImageErrorKind.Connection);
    public static readonly ImageError HttpRedirectRefused = new(nameof(HttpRedirectRefused), ImageErrorKind.Security);
    public static readonly ImageError HttpTimeout = new(nameof(HttpTimeout), ImageErrorKind.Timeout);
    public static readonly ImageError HttpTlsNameMismatch = new(nameof(HttpTlsNameMismatch), ImageErrorKind.Security);
    public static readonly ImageError HttpTlsUntrusted = new(nameof(HttpTlsUntrusted), ImageErrorKind.Security);
    public static readonly ImageError HttpTruncated = new(nameof(HttpTruncated), ImageErrorKind.Connection);
    public static readonly ImageError HttpUnauthorized = new(nameof(HttpUnauthorized), ImageErrorKind.PermissionDenied);

    public static readonly ImageError InvalidChecksum = new(nameof(InvalidChecksum), ImageErrorKind.InvalidArgument);

    public static readonly ImageError OutputBeyondVirtualSize = new(nameof(OutputBeyondVirtualSize), ImageErrorKind.Invalid);

    public static readonly ImageError Qcow2BackingFileNameInvalid = new(nameof(Qcow2BackingFileNameInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2BackingFileNotSupported = new(nameof(Qcow2BackingFileNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError Qcow2BackingFileOffsetInvalid = new(nameof(Qcow2BackingFileOffsetInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2BadMagic = new(nameof(Qcow2BadMagic), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2ClusterBitsOutOfRange = new(nameof(Qcow2ClusterBitsOutOfRange), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2ClusterOverlap = new(nameof(Qcow2ClusterOverlap), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2CompressedClusterCorrupt = new(nameof(Qcow2CompressedClusterCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2CompressedOffsetInvalid = new(nameof(Qcow2CompressedOffsetInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2CompressionTypeInvalid = new(nameof(Qcow2CompressionTypeInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2CompressionTypeMismatch = new(nameof(Qcow2CompressionTypeMismatch), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2DataFileInvalid = new(nameof(Qcow2DataFileInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2DataOffsetMisaligned = new(nameof(Qcow2DataOffsetMisaligned), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2EncryptionNotSupported = new(nameof(Qcow2EncryptionNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError Qcow2ExtensionInvalid = new(nameof(Qcow2ExtensionInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2ExtensionTooLarge = new(nameof(Qcow2ExtensionTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2ExternalDataFileNotSupported = new(nameof(Qcow2ExternalDataFileNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError Qcow2HeaderLengthInvalid = new(nameof(Qcow2HeaderLengthInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2HeaderTruncated = new(nameof(Qcow2HeaderTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2L1ReservedBits = new(nameof(Qcow2L1ReservedBits), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2L1TableInvalid = new(nameof(Qcow2L1TableInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2L1TooSmall = new(nameof(Qcow2L1TooSmall), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2L2OffsetMisaligned = new(nameof(Qcow2L2OffsetMisaligned), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2L2ReservedBits = new(nameof(Qcow2L2ReservedBits), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2OffsetBeyondEndOfFile = new(nameof(Qcow2OffsetBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2RefcountOrderInvalid = new(nameof(Qcow2RefcountOrderInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2RefcountTableInvalid = new(nameof(Qcow2RefcountTableInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2SnapshotTableInvalid = new(nameof(Qcow2SnapshotTableInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2SubclusterBitmapInvalid = new(nameof(Qcow2SubclusterBitmapInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2SubclusterTooSmall = new(nameof(Qcow2SubclusterTooSmall), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2TooBig = new(nameof(Qcow2TooBig), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2UnsupportedFeature = new(nameof(Qcow2UnsupportedFeature), ImageErrorKind.Unsupported);
    public static readonly ImageError Qcow2UnsupportedVersion = new(nameof(Qcow2UnsupportedVersion), ImageErrorKind.Unsupported);
    public static readonly ImageError Qcow2VirtualSizeInvalid = new(nameof(Qcow2VirtualSizeInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError Qcow2ZeroFlagInV2 = new(nameof(Qcow2ZeroFlagInV2), ImageErrorKind.Invalid);

    public static readonly ImageError RegistryAmbiguousDisk = new(nameof(RegistryAmbiguousDisk), ImageErrorKind.Invalid);
    public static readonly ImageError RegistryDigestMismatch = new(nameof(RegistryDigestMismatch), ImageErrorKind.Mismatch);
    public static readonly ImageError RegistryInvalidArchive = new(nameof(RegistryInvalidArchive), ImageErrorKind.Invalid);
    public static readonly ImageError RegistryInvalidPlatform = new(nameof(RegistryInvalidPlatform), ImageErrorKind.InvalidArgument);
    public static readonly ImageError RegistryInvalidReference = new(nameof(RegistryInvalidReference), ImageErrorKind.InvalidArgument);
    public static readonly ImageError RegistryManifestInvalid = new(nameof(RegistryManifestInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError RegistryManifestTooLarge = new(nameof(RegistryManifestTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError RegistryNoDisk = new(nameof(RegistryNoDisk), ImageErrorKind.Invalid);
    public static readonly ImageError RegistryNotFound = new(nameof(RegistryNotFound), ImageErrorKind.NotFound);
    public static readonly ImageError RegistryPlatformNotFound = new(nameof(RegistryPlatformNotFound), ImageErrorKind.NotFound);
    public static readonly ImageError RegistryUnauthorized = new(nameof(RegistryUnauthorized), ImageErrorKind.PermissionDenied);
    public static readonly ImageError RegistryUnsupportedDigest = new(nameof(RegistryUnsupportedDigest), ImageErrorKind.Unsupported);
    public static readonly ImageError RegistryUnsupportedMediaType = new(nameof(RegistryUnsupportedMediaType), ImageErrorKind.Unsupported);
    public static readonly ImageError RegistryUnsupportedSparseDisk = new(nameof(RegistryUnsupportedSparseDisk), ImageErrorKind.Unsupported);

    public static readonly ImageError SourceTruncated = new(nameof(SourceTruncated), ImageErrorKind.Invalid);

    public static readonly ImageError TarAmbiguousDisk = new(nameof(TarAmbiguousDisk), ImageErrorKind.Invalid);
    public static readonly ImageError TarCorrupt = new(nameof(TarCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError TarNoDiskImage = new(nameof(TarNoDiskImage), ImageErrorKind.Invalid);
    public static readonly ImageError TarSparseCorrupt = new(nameof(TarSparseCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError TarSparseVersionUnsupported = new(nameof(TarSparseVersionUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError TarTruncated = new(nameof(TarTruncated), ImageErrorKind.Invalid);

    public static readonly ImageError TooManyLayers = new(nameof(TooManyLayers), ImageErrorKind.Invalid);

    public static readonly ImageError UnsupportedImageFormat = new(nameof(UnsupportedImageFormat), ImageErrorKind.Unsupported);

    public static readonly ImageError VdiBadDataOffset = new(nameof(VdiBadDataOffset), ImageErrorKind.Invalid);
    public static readonly ImageError VdiBadMapOffset = new(nameof(VdiBadMapOffset), ImageErrorKind.Invalid);
    public static readonly ImageError VdiBadSignature = new(nameof(VdiBadSignature), ImageErrorKind.Invalid);
    public static readonly ImageError VdiDifferencingNotSupported = new(nameof(VdiDifferencingNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VdiLayoutNotStreamable = new(nameof(VdiLayoutNotStreamable), ImageErrorKind.Invalid);
    public static readonly ImageError VdiLinkedImageNotSupported = new(nameof(VdiLinkedImageNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VdiMapTooSmall = new(nameof(VdiMapTooSmall), ImageErrorKind.Invalid);
    public static readonly ImageError VdiOffsetBeyondEndOfFile = new(nameof(VdiOffsetBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError VdiTooManyBlocks = new(nameof(VdiTooManyBlocks), ImageErrorKind.Invalid);
    public static readonly ImageError VdiUnsupportedBlockSize = new(nameof(VdiUnsupportedBlockSize), ImageErrorKind.Unsupported);
    public static readonly ImageError VdiUnsupportedSectorSize = new(nameof(VdiUnsupportedSectorSize), ImageErrorKind.Unsupported);
    public static readonly ImageError VdiUnsupportedVersion = new(nameof(VdiUnsupportedVersion), ImageErrorKind.Unsupported);

    public static readonly ImageError VhdBadCookie = new(nameof(VhdBadCookie), ImageErrorKind.Invalid);
    public static readonly ImageError VhdBadHeaderCookie = new(nameof(VhdBadHeaderCookie), ImageErrorKind.Invalid);
    public static readonly ImageError VhdBlockSizeOutOfRange = new(nameof(VhdBlockSizeOutOfRange), ImageErrorKind.Invalid);
    public static readonly ImageError VhdDifferencingNotSupported = new(nameof(VhdDifferencingNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VhdFooterChanged = new(nameof(VhdFooterChanged), ImageErrorKind.Invalid);
    public static readonly ImageError VhdFooterChecksumMismatch = new(nameof(VhdFooterChecksumMismatch), ImageErrorKind.Invalid);
    public static readonly ImageError VhdHeaderChecksumMismatch = new(nameof(VhdHeaderChecksumMismatch), ImageErrorKind.Invalid);
    public static readonly ImageError VhdLayoutNotStreamable = new(nameof(VhdLayoutNotStreamable), ImageErrorKind.Invalid);
    public static readonly ImageError VhdOffsetBeyondEndOfFile = new(nameof(VhdOffsetBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError VhdTableTooLarge = new(nameof(VhdTableTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VhdTableTooSmall = new(nameof(VhdTableTooSmall), ImageErrorKind.Invalid);
    public static readonly ImageError VhdTooLarge = new(nameof(VhdTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VhdUnsupportedDiskType = new(nameof(VhdUnsupportedDiskType), ImageErrorKind.Unsupported);

    public static readonly ImageError VhdxBatBeyondEndOfFile = new(nameof(VhdxBatBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxBatTooSmall = new(nameof(VhdxBatTooSmall), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxBlockBeyondEndOfFile = new(nameof(VhdxBlockBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxBlockOverlapsRegion = new(nameof(VhdxBlockOverlapsRegion), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxBlockSizeInvalid = new(nameof(VhdxBlockSizeInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxBlockStateInvalid = new(nameof(VhdxBlockStateInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxDifferencingUnsupported = new(nameof(VhdxDifferencingUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VhdxHeaderInvalid = new(nameof(VhdxHeaderInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxHeadersConflict = new(nameof(VhdxHeadersConflict), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxLogInvalid = new(nameof(VhdxLogInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxLogLengthInvalid = new(nameof(VhdxLogLengthInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxLogOffsetInvalid = new(nameof(VhdxLogOffsetInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxLogTooLarge = new(nameof(VhdxLogTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxLogVersionUnsupported = new(nameof(VhdxLogVersionUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VhdxMetadataInvalid = new(nameof(VhdxMetadataInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxMetadataItemMissing = new(nameof(VhdxMetadataItemMissing), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxRegionOverlap = new(nameof(VhdxRegionOverlap), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxRegionTableInvalid = new(nameof(VhdxRegionTableInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxRequiredMetadataUnsupported = new(nameof(VhdxRequiredMetadataUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VhdxRequiredRegionUnsupported = new(nameof(VhdxRequiredRegionUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VhdxSectorSizeInvalid = new(nameof(VhdxSectorSizeInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxSignatureMissing = new(nameof(VhdxSignatureMissing), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxTruncated = new(nameof(VhdxTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError VhdxVirtualSizeTooLarge = new(nameof(VhdxVirtualSizeTooLarge), ImageErrorKind.Invalid);

    public static readonly ImageError VmdkBadMagic = new(nameof(VmdkBadMagic), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkCapacityTooLarge = new(nameof(VmdkCapacityTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkCompressedGrainCorrupt = new(nameof(VmdkCompressedGrainCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkDescriptorInvalid = new(nameof(VmdkDescriptorInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkDescriptorNeedsLocalFile = new(nameof(VmdkDescriptorNeedsLocalFile), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentInvalid = new(nameof(VmdkExtentInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentLineInvalid = new(nameof(VmdkExtentLineInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentNotAFile = new(nameof(VmdkExtentNotAFile), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentNotFound = new(nameof(VmdkExtentNotFound), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentOutsideFolder = new(nameof(VmdkExtentOutsideFolder), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentTruncated = new(nameof(VmdkExtentTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkExtentTypeUnsupported = new(nameof(VmdkExtentTypeUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VmdkFileTruncated = new(nameof(VmdkFileTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkFooterInvalid = new(nameof(VmdkFooterInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkFooterMismatch = new(nameof(VmdkFooterMismatch), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkForwardOrderUnsupported = new(nameof(VmdkForwardOrderUnsupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VmdkGrainDirectoryInvalid = new(nameof(VmdkGrainDirectoryInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainDirectoryMissing = new(nameof(VmdkGrainDirectoryMissing), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainDirectoryTooLarge = new(nameof(VmdkGrainDirectoryTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainOutOfOrder = new(nameof(VmdkGrainOutOfOrder), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainSizeInvalid = new(nameof(VmdkGrainSizeInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainTableMismatch = new(nameof(VmdkGrainTableMismatch), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkGrainTableTooLarge = new(nameof(VmdkGrainTableTooLarge), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkHeaderTruncated = new(nameof(VmdkHeaderTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkMarkerInvalid = new(nameof(VmdkMarkerInvalid), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkOffsetBeyondEndOfFile = new(nameof(VmdkOffsetBeyondEndOfFile), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkParentNotSupported = new(nameof(VmdkParentNotSupported), ImageErrorKind.Unsupported);
    public static readonly ImageError VmdkStreamTruncated = new(nameof(VmdkStreamTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError VmdkUnsupportedCompression = new(nameof(VmdkUnsupportedCompression), ImageErrorKind.Unsupported);
    public static readonly ImageError VmdkUnsupportedCreateType = new(nameof(VmdkUnsupportedCreateType), ImageErrorKind.Unsupported);
    public static readonly ImageError VmdkUnsupportedVersion = new(nameof(VmdkUnsupportedVersion), ImageErrorKind.Unsupported);

    public static readonly ImageError XzCorrupt = new(nameof(XzCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError XzMemoryLimit = new(nameof(XzMemoryLimit), ImageErrorKind.Invalid);
    public static readonly ImageError XzNotXz = new(nameof(XzNotXz), ImageErrorKind.Invalid);
    public static readonly ImageError XzTruncated = new(nameof(XzTruncated), ImageErrorKind.Invalid);
    public static readonly ImageError XzUnsupportedCheck = new(nameof(XzUnsupportedCheck), ImageErrorKind.Unsupported);
    public static readonly ImageError XzUnsupportedOptions = new(nameof(XzUnsupportedOptions), ImageErrorKind.Unsupported);

    public static readonly ImageError ZstdCorrupt = new(nameof(ZstdCorrupt), ImageErrorKind.Invalid);
    public static readonly ImageError ZstdTruncated = new(nameof(ZstdTruncated), ImageErrorKind.Invalid);
}
