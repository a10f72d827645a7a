using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Upload;
using CdiTools.Engine;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Import-CdiImage: converts qcow2, vmdk, vhd, vhdx, vdi and raw images, possibly in gz, xz, zstd or tar, to raw disks in
/// one pass, with holes for zeros, and nothing left behind on failure or Ctrl+C; with -Namespace,
/// uploads them into DataVolumes through CDI's upload proxy, converted on the way.
/// </summary>
[Cmdlet(VerbsData.Import, "CdiImage", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CdiImportResult), typeof(CdiDataVolume))]
public sealed class ImportCdiImageCommand : ImageSourceCmdlet
{
    private const int UploadsActivityId = 1_000_000;
    private readonly List<(ImageLocation Source, ImageUploadRequest Request)> uploads = [];
    private readonly List<(ImageLocation Source, string Destination, ImageOpenOptions Options)> conversions = [];
    private int activityId;
    private Cluster.Connection.ClusterConnection? connection;

    /// <summary>The raw disk file to write, or a folder to write NAME.raw into; a script block may compute it per input. Not with -Namespace.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? DestinationPath { get; set; }

    /// <summary>Uploads into a DataVolume in this namespace instead of writing a file; bound by property name as in the other cluster cmdlets.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Namespace { get; set; }

    /// <summary>The DataVolume to upload into; made from the file name when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>A DataVolume (from New- or Get-CdiDataVolume) to upload into; implies -NoCreate.</summary>
    [Parameter(ValueFromPipeline = true)]
    public CdiDataVolume? DataVolume { get; set; }

    /// <summary>The DataVolume's size: bytes or a quantity; from the image and CDI's filesystem overhead when omitted.</summary>
    [Parameter]
    public object? Size { get; set; }

    [Parameter]
    public string? StorageClass { get; set; }

    [Parameter]
    [ValidateSet("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")]
    public string[] AccessMode { get; set; } = [];

    [Parameter]
    [ValidateSet("Filesystem", "Block")]
    public string? VolumeMode { get; set; }

    /// <summary>Binds the PVC at once even when its class waits for the first consumer (an upload has none).</summary>
    [Parameter]
    public SwitchParameter BindImmediately { get; set; }

    /// <summary>Uploads into a DataVolume or PVC that exists already.</summary>
    [Parameter]
    public SwitchParameter NoCreate { get; set; }

    /// <summary>The image is a tar to unpack onto a Filesystem volume; it is sent as it is.</summary>
    [Parameter]
    public SwitchParameter Archive { get; set; }

    /// <summary>Sends the file as it is and lets CDI convert it (through scratch space), as virtctl does.</summary>
    [Parameter]
    public SwitchParameter NoConvert { get; set; }

    /// <summary>The upload proxy's address; CDIConfig's uploadProxyURLOverride or status when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? UploadProxyUrl { get; set; }

    /// <summary>A PEM file with the CA of the upload proxy's certificate; the kubeconfig's CA when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? UploadProxyCertificate { get; set; }

    /// <summary>How often a failed upload (connection reset, 5xx) is started again from the first byte.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int RetryCount { get; set; } = 5;

    /// <summary>Returns once the bytes are sent, without waiting for CDI to finish.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Keeps a DataVolume this call created when its upload fails before CDI has the data; it is deleted otherwise.</summary>
    [Parameter]
    public SwitchParameter KeepFailedDataVolume { get; set; }

    /// <summary>How long to wait for CDI, in seconds, before the upload and after it.</summary>
    [Parameter]
    [ValidateRange(1, 7 * 24 * 3600)]
    public int Timeout { get; set; } = 3600;

    /// <summary>The kubeconfig file; KUBECONFIG, then ~/.kube/config, then the in-cluster account when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The kubeconfig context; its current context when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Context { get; set; }

    /// <summary>How many uploads run at once when several images come down the pipeline.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Replace an existing destination file; for uploads, create the DataVolume even when its scratch PVC will not bind.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// The checksum the image file must have, as stored (not the disk inside): HEX, ALGORITHM:HEX
    /// (md5, sha1, sha256, sha512), a sha256sum line or a BSD line; checked as it streams. One image per call.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Checksum { get; set; }

    /// <summary>Write a CdiImportResult for each image.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private bool Uploading => Namespace is not null || DataVolume is not null || NoCreate || Name is not null;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (Uploading == (DestinationPath is not null))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException(DestinationPath is null
                    ? "Give -DestinationPath to write a raw file, or -Namespace (and -Name) to upload into a DataVolume."
                    : "-DestinationPath writes a file; -Namespace, -Name, -NoCreate and a piped DataVolume upload into the cluster. Give one or the other."),
                "DestinationRequired",
                ErrorCategory.InvalidArgument,
                null));
        }

        foreach (var source in ResolveLocations())
        {
            if (OptionsFor(source) is not { } options)
            {
                continue;
            }

            if (Uploading)
            {
                Upload(source, options);
            }
            else
            {
                // Converted once every input is known, so that two inputs that would write the
                // same file are both refused before either is written.
                conversions.Add((source, LocalImport.ResolveDestination(GetUnresolvedProviderPathFromPSPath(DestinationPath!), source), options));
            }
        }
    }

    // The checksum is read against each image's name, so a sha256sum line for another file is caught.
    private ImageOpenOptions? OptionsFor(ImageLocation source)
    {
        try
        {
            return new ImageOpenOptions { ExpectedChecksum = Checksum is null ? null : ImageChecksum.Parse(Checksum, source.Path ?? source.Name) };
        }
        catch (ImageException e)
        {
            WriteError(ErrorRecords.From(e, Checksum, source.ToString()));
            return null;
        }
    }

    // A checksum belongs to one file: given once for several images, it cannot be right for all.
    private bool RefuseChecksumForMany()
    {
        var count = conversions.Count + uploads.Count;
        if (Checksum is null || count < 2)
        {
            return false;
        }

        var names = conversions.Select(c => c.Source.ToString()).Concat(uploads.Select(u => u.Source.ToString())).ToList();
        WriteError(new ErrorRecord(
            new ArgumentException($"One -Checksum was given for {count} images ({string.Join(", ", names.Take(5))}{(count > 5 ? ", ..." : string.Empty)}), and a checksum belongs to one file; nothing was converted or uploaded. Run Import-CdiImage once per image with its own -Checksum."),
            "ChecksumForManyImages",
            ErrorCategory.InvalidArgument,
            Checksum));
        return true;
    }

    private void ConvertAll()
    {
        var collisions = OutputCollisions.Find([.. conversions.Select(c => c.Destination)], OutputCollisions.PathsIgnoreCase);
        for (var i = 0; i < conversions.Count; i++)
        {
            var (source, destination, options) = conversions[i];
            if (collisions[i].Length > 0)
            {
                var others = string.Join(", ", collisions[i].Select(j => conversions[j].Source.ToString()));
                WriteError(ErrorRecords.Collision(
                    "DestinationCollision",
                    $"{source} and {others} would all be written to {destination}, so none of them is converted. Give each its own -DestinationPath, for example -DestinationPath {{ Join-Path ./raw \"$($_.Name).raw\" }}.",
                    source.ToString()));
                continue;
            }

            var replacing = File.Exists(destination)
                ? Force ? " (replacing the file there)" : " (the file exists: without -Force this fails with DestinationExists)"
                : string.Empty;
            if (!ShouldProcess(destination, $"Convert {source} to a raw disk{replacing}"))
            {
                continue;
            }

            try
            {
                var id = ++activityId;
                var result = RunWorker(async (channel, token) =>
                {
                    var progress = new ConversionProgressRecords(id, $"Import-CdiImage {source.Name}", channel.Progress);
                    channel.WriteVerbose($"Converting {source} to {destination}.");
                    try
                    {
                        return await LocalImport.ToFileAsync(source, destination, options, Force, computeSha256: false, progress.Report, token).ConfigureAwait(false);
                    }
                    finally
                    {
                        progress.Complete();
                    }
                });

                WriteVerbose(
                    $"{source}: {string.Join(" > ", result.FormatChain)}, {ByteSize.Format(result.VirtualSize)} disk written to {destination} " +
                    $"({ByteSize.Format(result.AllocatedBytes)} allocated) in {result.Duration.TotalSeconds:0.0} s at {ByteSize.FormatRate(result.Throughput)}; " +
                    $"read {ByteSize.Format(result.BytesRead)}, {(result.RandomAccess ? "random access" : "one forward pass")}, scratch {ByteSize.Format(result.ScratchBytes)}, " +
                    $"flushed to stable storage in {result.FlushDuration.TotalSeconds:0.0} s.");
                foreach (var note in result.Notes)
                {
                    WriteVerbose($"{source}: {note}");
                }

                foreach (var warning in result.Warnings)
                {
                    WriteWarning(warning);
                }

                if (PassThru)
                {
                    WriteObject(new CdiImportResult(result, source.ToString(), destination) { VerifiedChecksum = options.ExpectedChecksum?.ToString() });
                }
            }
            catch (Exception e) when (e is ImageException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                WriteError(ErrorRecords.From(e, source.ToString(), source.ToString()));
            }
        }
    }

    // Two inputs into one DataVolume would race (the second create fails with AlreadyExists, or
    // one upload replaces the other): each is refused before anything is created.
    private void RefuseNameCollisions()
    {
        var collisions = OutputCollisions.Find([.. uploads.Select(u => $"{u.Request.Namespace}/{u.Request.Name}")], ignoreCase: false);
        var kept = new List<(ImageLocation Source, ImageUploadRequest Request)>();
        for (var i = 0; i < uploads.Count; i++)
        {
            var (source, request) = uploads[i];
            if (collisions[i].Length == 0)
            {
                kept.Add(uploads[i]);
                continue;
            }

            var others = string.Join(", ", collisions[i].Select(j => uploads[j].Source.ToString()));
            WriteError(ErrorRecords.Collision(
                "DataVolumeNameCollision",
                $"{source} and {others} would all go into DataVolume {request.Namespace}/{request.Name}, so none of them is uploaded. Give each its own name: pipe them without -Name (each is named from its file), or run Import-CdiImage once per image with its -Name.",
                $"{request.Namespace}/{request.Name}"));
        }

        uploads.Clear();
        uploads.AddRange(kept);
    }

    private void Upload(ImageLocation source, ImageOpenOptions options)
    {
        var name = DataVolume?.Name ?? Name ?? DataVolumeNames.FromImage(source.Name);
        if (name is null)
        {
            WriteError(new ErrorRecord(new ArgumentException($"No DataVolume name can be made from '{source.Name}'; give -Name."), "NameRequired", ErrorCategory.InvalidArgument, source.ToString()));
            return;
        }

        if (SkipCertificateCheck)
        {
            WriteWarning("-SkipCertificateCheck: the upload proxy's certificate is not checked, so the image and the upload token could go to anyone on the path.");
        }

        connection ??= ClusterCmdlet.ConnectFor(this, KubeConfig, Context);
        var ns = connection.NamespaceOr(DataVolume?.Namespace ?? Namespace);
        long? size;
        try
        {
            size = SizeArgument.Bytes(Size);
        }
        catch (FormatException e)
        {
            WriteError(new ErrorRecord(e, "InvalidSize", ErrorCategory.InvalidArgument, Size));
            return;
        }

        var caFile = UploadProxyCertificate is null ? null : GetUnresolvedProviderPathFromPSPath(UploadProxyCertificate);

        var noCreate = NoCreate || DataVolume is not null;
        if (!ShouldProcess($"DataVolume {ns}/{name}", noCreate ? $"Upload {source}" : $"Create an upload DataVolume and upload {source}"))
        {
            return;
        }

        var request = new ImageUploadRequest
        {
            Source = source,
            Name = name,
            Namespace = ns,
            Size = size,
            StorageClass = StorageClass,
            AccessModes = AccessMode,
            VolumeMode = VolumeMode,
            BindImmediately = BindImmediately,
            NoCreate = noCreate,
            Force = Force,
            Archive = Archive,
            NoConvert = NoConvert,
            UploadProxyUrl = UploadProxyUrl,
            UploadProxyCertificateFile = caFile,
            SkipCertificateCheck = SkipCertificateCheck,
            RetryCount = RetryCount,
            NoWait = NoWait,
            KeepFailedDataVolume = KeepFailedDataVolume,
            Timeout = TimeSpan.FromSeconds(Timeout),
            OpenOptions = options,
        };
        uploads.Add((source, request));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (RefuseChecksumForMany())
        {
            return;
        }

        ConvertAll();
        RefuseNameCollisions();
        if (uploads.Count == 0)
        {
            return;
        }

        // One progress bar per upload under one for all.
        var api = new CdiApi(connection!);
        var outcomes = RunWorker(async (channel, token) =>
        {
            var bars = uploads.Select((item, index) => new UploadProgressRecords(
                UploadsActivityId + 1 + index, $"{item.Source.Name} -> {item.Request.Namespace}/{item.Request.Name}", channel.Progress, UploadsActivityId)).ToList();
            var done = 0;
            channel.Progress(new ProgressRecord(UploadsActivityId, "Import-CdiImage", $"0 of {uploads.Count} uploads done") { PercentComplete = 0 });
            try
            {
                return await new ImageUploadService(api) { Warning = channel.WriteWarning }.UploadAllAsync(
                    [.. uploads.Select(u => u.Request)],
                    ThrottleLimit,
                    index => bars[index].Report,
                    index =>
                    {
                        bars[index].Complete();
                        var finished = Interlocked.Increment(ref done);
                        channel.Progress(new ProgressRecord(UploadsActivityId, "Import-CdiImage", $"{finished} of {uploads.Count} uploads done") { PercentComplete = finished * 100 / uploads.Count });
                    },
                    channel.WriteVerbose,
                    token).ConfigureAwait(false);
            }
            finally
            {
                channel.Progress(new ProgressRecord(UploadsActivityId, "Import-CdiImage", "Done") { RecordType = ProgressRecordType.Completed });
            }
        });

        for (var i = 0; i < uploads.Count; i++)
        {
            var (source, request) = uploads[i];
            var target = $"{request.Namespace}/{request.Name}";
            if (outcomes[i].Result is { } result)
            {
                foreach (var warning in result.Conversion?.Warnings ?? [])
                {
                    WriteWarning(warning);
                }

                WriteVerbose(
                    $"{source} -> {target}: {ByteSize.Format(result.VirtualSize)} disk, {ByteSize.Format(result.Transfer.BytesSent)} sent" +
                    $"{(result.Conversion is { } c ? $" ({string.Join(" > ", c.FormatChain)} converted here, raw in gzip)" : " as it is")}, DataVolume {result.DataVolume.Phase}.");
                if (PassThru)
                {
                    WriteObject(new CdiDataVolume(result.DataVolume));
                }
            }
            else if (outcomes[i].Error is { } error)
            {
                WriteError(ErrorRecords.From(error, target, source.ToString()));
            }
        }
    }
}
