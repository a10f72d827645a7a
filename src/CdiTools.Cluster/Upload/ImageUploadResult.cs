using CdiTools.Cluster.DataVolumes;
using CdiTools.Engine;

namespace CdiTools.Cluster.Upload;

/// <summary>How far an upload is: the stage, and bytes of the disk converted and sent.</summary>
public sealed record UploadProgress(string Stage, long DiskBytesDone, long DiskBytes, long BytesSent, TimeSpan Elapsed);

/// <summary>One upload's outcome when several run together: what it did, or what stopped it.</summary>
public sealed record ImageUploadOutcome(ImageUploadRequest Request, ImageUploadResult? Result, Exception? Error);

/// <summary>What an upload did.</summary>
public sealed record ImageUploadResult(DataVolumeView DataVolume, UploadTransfer Transfer, ImportResult? Conversion, long VirtualSize, long RequestedSize, bool Created, Uri Proxy);

/// <summary>The DataVolume an upload goes into: its requested size, and whether this call created it.</summary>
internal sealed record UploadTarget(long RequestedSize, bool Created);
