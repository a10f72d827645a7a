using System.Globalization;
using System.IO.Pipelines;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Sizing;
using CdiTools.Engine;
using CdiTools.Engine.Sources.Http;

namespace CdiTools.Cluster.Upload;

/// <summary>
/// Uploads an image into a DataVolume the way virtctl image-upload does, and more: sizes the volume
/// from the image, converts on this side (so the upload is raw in gzip, which CDI writes straight
/// into the volume with no scratch copy; CDI still creates an empty scratch PVC for the upload
/// pod), streams without a copy, retries what can be retried, and waits for CDI's verdict.
/// </summary>
public sealed class ImageUploadService(CdiApi api)
{
    private readonly DataVolumeService dataVolumes = new(api);
    private readonly DataVolumeWaiter waiter = new(api);

    /// <summary>Shortens the proxy client's backoff, for tests.</summary>
    public Func<int, TimeSpan>? Backoff { get; init; }

    /// <summary>Hears warnings as they arise (the scratch preflight's findings when -Force goes past them), before the upload that may then wait.</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>
    /// Runs several uploads, at most <paramref name="throttleLimit"/> at once: they wait on the
    /// cluster and the network more than on the CPU. One failing does not stop the others; each
    /// outcome says how it went. <paramref name="progressFor"/> gives the progress sink of upload n,
    /// <paramref name="finished"/> hears when it ends.
    /// </summary>
    public async Task<IReadOnlyList<ImageUploadOutcome>> UploadAllAsync(
        IReadOnlyList<ImageUploadRequest> requests,
        int throttleLimit,
        Func<int, Action<UploadProgress>> progressFor,
        Action<int> finished,
        Action<string> verbose,
        CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(throttleLimit);
        var uploads = requests.Select(async (request, index) =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return new ImageUploadOutcome(request, await UploadAsync(request, progressFor(index), verbose, cancellationToken).ConfigureAwait(false), null);
            }
            catch (Exception e) when (e is ClusterException or ImageException or DataVolumeRequestException or IOException or UnauthorizedAccessException)
            {
                return new ImageUploadOutcome(request, null, e);
            }
            finally
            {
                gate.Release();
                finished(index);
            }
        }).ToList();
        return await Task.WhenAll(uploads).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads one image: sizes its disk, creates the upload DataVolume (unless -NoCreate), waits for
    /// CDI's upload server, sends the disk converted on the way (or the file as it is), and waits
    /// for CDI to finish. A failure after the DataVolume was created cleans up as <see cref="AfterFailureAsync"/> says.
    /// </summary>
    public async Task<ImageUploadResult> UploadAsync(ImageUploadRequest request, Action<UploadProgress> progress, Action<string> verbose, CancellationToken cancellationToken)
    {
        var ns = dataVolumes.NamespaceOr(request.Namespace);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!Converts(request) && request.Source.Path is null)
        {
            throw new ClusterException("NoConvertNeedsFile", ClusterErrorKind.Configuration, "-NoConvert and -Archive send a local file as it is; download the URL first, or let Import-CdiImage convert it.");
        }

        progress(new UploadProgress("Reading the image", 0, 0, 0, clock.Elapsed));
        var config = await api.GetCdiConfigAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new ClusterException("CdiNotInstalled", ClusterErrorKind.NotFound, $"CDI is not installed on {api.Connection.Server}: there is no cdiconfig/config.");
        var proxy = UploadProxyAddress.Resolve(request.UploadProxyUrl, config);
        var virtualSize = await DiskSizeAsync(request, verbose, cancellationToken).ConfigureAwait(false);
        var target = await PrepareTargetAsync(request, ns, virtualSize, config, stage => progress(new UploadProgress(stage, 0, virtualSize, 0, clock.Elapsed)), verbose, cancellationToken).ConfigureAwait(false);

        // Past this point a failure would leave behind the DataVolume just created, holding a
        // full-size PVC; what happens to it depends on whether CDI got the data.
        var delivered = false;
        try
        {
            progress(new UploadProgress("Waiting for CDI's upload server", 0, virtualSize, 0, clock.Elapsed));
            var ready = await WaitAsync(ns, request, "UploadReady", request.Timeout, cancellationToken).ConfigureAwait(false);
            verbose($"{ns}/{request.Name} is {ready.View?.Phase}; uploading to {proxy}.");

            var (transfer, conversion) = await SendAsync(request, ns, proxy, virtualSize, clock, progress, verbose, cancellationToken).ConfigureAwait(false);
            verbose($"Sent {transfer.BytesSent} bytes to {(transfer.Async ? "upload-async" : "upload")} in {transfer.Attempts} attempt(s), {transfer.Duration.TotalSeconds:0.0} s.");
            delivered = true;

            DataVolumeView view;
            if (request.NoWait)
            {
                view = (await dataVolumes.GetAsync(request.Name, ns, cancellationToken).ConfigureAwait(false)) ?? ready.View!;
            }
            else
            {
                progress(new UploadProgress("Waiting for CDI to finish", virtualSize, virtualSize, transfer.BytesSent, clock.Elapsed));
                view = (await WaitAsync(ns, request, DataVolumeHealth.Succeeded, request.Timeout, cancellationToken).ConfigureAwait(false)).View!;
            }

            return new ImageUploadResult(view, transfer, conversion, conversion?.VirtualSize ?? virtualSize, target.RequestedSize, target.Created, proxy);
        }
        catch (Exception e) when (target.Created && e is ClusterException or ImageException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            throw await AfterFailureAsync(e, request.Name, ns, request.KeepFailedDataVolume, delivered).ConfigureAwait(false);
        }
    }

    // -NoConvert and -Archive send the file as it is; otherwise the engine converts on the way.
    private static bool Converts(ImageUploadRequest request) => !request.NoConvert && !request.Archive;

    /// <summary>
    /// The disk's size; 0 while unknown, which only a given size or an existing volume allows. A
    /// file sent as it is still holds a disk that CDI unpacks into the volume: the volume is sized
    /// from that disk, never from the (compressed) file. Only an archive's contents are not a disk,
    /// and its file's length bounds them.
    /// </summary>
    private static async Task<long> DiskSizeAsync(ImageUploadRequest request, Action<string> verbose, CancellationToken cancellationToken)
    {
        if (request.Archive)
        {
            return new FileInfo(request.Source.Path!).Length;
        }

        if (request.Size is null && !request.NoCreate)
        {
            return (await ImageInspector.InspectAsync(request.Source, request.OpenOptions, null, cancellationToken).ConfigureAwait(false)).VirtualSize;
        }

        // The size is given or the volume exists: the headers serve the size check and the
        // progress total, but a raw disk in gzip or xz is not decoded an extra time to measure it.
        using var image = await request.Source.OpenAsync(request.OpenOptions, cancellationToken).ConfigureAwait(false);
        var stated = image.Details.VirtualSize ?? 0;
        if (stated == 0)
        {
            verbose($"{request.Source}: the {image.Details.Format} disk does not state its size; its size is known once it is sent, and CDI checks that it fits.");
        }

        return stated;
    }

    /// <summary>
    /// Creates the upload DataVolume, sized from the disk unless -Size says otherwise, after the
    /// scratch preflight (refusing unless -Force); with -NoCreate, checks the DataVolume or PVC
    /// named can take an upload.
    /// </summary>
    private async Task<UploadTarget> PrepareTargetAsync(
        ImageUploadRequest request, string ns, long virtualSize, CdiConfig config, Action<string> stage, Action<string> verbose, CancellationToken cancellationToken)
    {
        if (request.NoCreate)
        {
            if (await api.GetDataVolumeAsync(request.Name, ns, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                RefuseTarget(existing, ns);
            }
            else if (await api.GetPersistentVolumeClaimAsync(request.Name, ns, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new ClusterException("DataVolumeNotFound", ClusterErrorKind.NotFound, $"There is no DataVolume or PVC {ns}/{request.Name} to upload into (-NoCreate).");
            }

            return new UploadTarget(0, Created: false);
        }

        var cdi = (await api.ListCdisAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        CdiVersion? release = CdiVersion.TryParse(cdi?.Status?.ObservedVersion, out var parsed) ? parsed : null;
        var requestedSize = request.Size ?? RequestSize(virtualSize, request, config, release);
        var claim = ClaimSize(requestedSize, request, config, release);
        verbose(request.Size is null
            ? $"Sizing {ns}/{request.Name} at {PvcSize.ExactQuantity(requestedSize)}, the disk's size{(claim == requestedSize ? "." : $"; CDI adds its filesystem overhead of {config.FilesystemOverheadFor(request.StorageClass):0.###} for the class, so the PVC gets {PvcSize.ExactQuantity(claim)}.")}"
            : $"Creating {ns}/{request.Name} at the size given, {PvcSize.ExactQuantity(requestedSize)}{(claim == requestedSize ? "." : $"; CDI adds its filesystem overhead, so the PVC gets {PvcSize.ExactQuantity(claim)}.")}");
        if (request.Size is { } given && !request.Archive && virtualSize > 0 && given < virtualSize)
        {
            throw new ClusterException(
                "SizeTooSmallForImage",
                ClusterErrorKind.Invalid,
                $"-Size {PvcSize.ExactQuantity(given)} is too small for the image's {PvcSize.ExactQuantity(virtualSize)} disk; CDI would refuse the upload. Leave -Size out to size it from the image.");
        }

        stage("Creating the DataVolume");
        var made = await dataVolumes.CreateAsync(
            new DataVolumeRequest
            {
                Name = request.Name,
                Namespace = ns,
                Source = DataVolumeSourceKind.Upload,
                Size = requestedSize,
                StorageClass = request.StorageClass,
                AccessModes = request.AccessModes,
                VolumeMode = request.VolumeMode,
                BindImmediately = request.BindImmediately,
                ContentType = request.Archive ? "archive" : "kubevirt",
            },
            cancellationToken,
            request.Force ? ScratchPreflightPolicy.Warn : ScratchPreflightPolicy.Refuse).ConfigureAwait(false);
        foreach (var warning in made.Warnings)
        {
            Warning?.Invoke(warning);
        }

        return new UploadTarget(requestedSize, Created: true);
    }

    /// <summary>
    /// Sends the disk to the upload proxy: converted to raw in gzip as it goes (measured first when
    /// the proxy wants the length), or the file as it is; restarted from the first byte on a
    /// dropped connection, with a new token when the old one expired.
    /// </summary>
    private async Task<(UploadTransfer Transfer, ImportResult? Conversion)> SendAsync(
        ImageUploadRequest request, string ns, Uri proxy, long virtualSize, System.Diagnostics.Stopwatch clock, Action<UploadProgress> progress, Action<string> verbose, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(request.Name, ns, cancellationToken).ConfigureAwait(false);

        // The proxy's certificate usually comes from the CA the kubeconfig trusts for the API server.
        var trust = request.UploadProxyCertificateFile is { } caFile
            ? HttpTlsTrust.FromPemFile(caFile, request.SkipCertificateCheck)
            : HttpTlsTrust.FromBundle(api.Connection.CertificateAuthorities, $"from {api.Connection.Source}", request.SkipCertificateCheck || api.Connection.SkipTlsVerify);
        using var client = new UploadProxyClient(proxy, trust)
        {
            Backoff = Backoff ?? UploadProxyClient.DefaultBackoff,
            Retrying = (attempt, reason) => verbose($"Upload attempt {attempt} failed because {reason}; starting again from the first byte."),
            Measuring = () => verbose("The upload proxy refuses a body without Content-Length: converting once to measure it, then again to send it."),
        };
        var useAsync = await client.SupportsAsyncAsync(token, cancellationToken).ConfigureAwait(false);

        var convert = Converts(request);
        var fileLength = convert ? (long?)null : new FileInfo(request.Source.Path!).Length;
        long sent = 0;
        ImportResult? conversion = null;
        var body = convert
            ? new UploadBody(
                async (stream, ct) =>
                {
                    conversion = await ConvertInto(stream, request, p =>
                        progress(new UploadProgress("Converting and uploading", p.OutputBytes, virtualSize, Interlocked.Read(ref sent), clock.Elapsed)), ct).ConfigureAwait(false);
                },
                null,
                "application/octet-stream",
                async ct =>
                {
                    progress(new UploadProgress("Measuring the body (the proxy wants its length first)", 0, virtualSize, 0, clock.Elapsed));
                    var counter = new LengthCounter();
                    await RawExport.ToStreamAsync(request.Source, counter, gzip: true, request.OpenOptions, p => progress(new UploadProgress("Measuring the body (the proxy wants its length first)", p.OutputBytes, virtualSize, 0, clock.Elapsed)), ct).ConfigureAwait(false);
                    return counter.Written;
                })
            : new UploadBody(
                async (stream, ct) =>
                {
                    await using var file = new FileStream(request.Source.Path!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    await file.CopyToAsync(stream, 1 << 20, ct).ConfigureAwait(false);
                },
                fileLength,
                "application/octet-stream");
        var transfer = await client.SendAsync(
            body,
            useAsync,
            token,
            ct => TokenAsync(request.Name, ns, ct),
            request.RetryCount,
            count =>
            {
                var total = Interlocked.Add(ref sent, count);
                if (!convert)
                {
                    progress(new UploadProgress("Uploading", total, fileLength!.Value, total, clock.Elapsed));
                }
            },
            cancellationToken).ConfigureAwait(false);
        return (transfer, conversion);
    }

    // A DataVolume that is not an upload, or whose upload is over, never becomes UploadReady: say
    // what is wrong with it rather than wait for a phase it will not reach.
    private static void RefuseTarget(DataVolume existing, string ns)
    {
        var name = $"{ns}/{existing.Metadata.Name}";
        if (existing.Spec?.Source?.Upload is null)
        {
            throw new ClusterException(
                "NotAnUploadDataVolume",
                ClusterErrorKind.Invalid,
                $"DataVolume {name} imports from {DataVolumeView.Describe(existing.Spec)}, not from an upload, so nothing can be uploaded into it. Upload into a DataVolume made with New-CdiDataVolume -Upload, or leave -NoCreate out to have one made.");
        }

        switch (existing.Status?.Phase)
        {
            case "Succeeded":
                throw new ClusterException(
                    "UploadAlreadyDone",
                    ClusterErrorKind.Invalid,
                    $"DataVolume {name} has already received its upload (phase Succeeded); CDI takes one upload per DataVolume. Upload into a new one, or delete this one first with Remove-CdiDataVolume {existing.Metadata.Name} -Namespace {ns}.");
            case "Failed":
                throw new ClusterException(
                    "DataVolumeFailed",
                    ClusterErrorKind.Invalid,
                    $"DataVolume {name} has failed (phase Failed) and takes no upload; delete it with Remove-CdiDataVolume {existing.Metadata.Name} -Namespace {ns} and upload into a new one.");
        }
    }

    /// <summary>
    /// Cleans up after an upload that failed once its DataVolume was created, and returns the
    /// error to report, saying what became of the DataVolume. One that received no data is
    /// deleted again (kept with -KeepFailedDataVolume); one CDI got the data for is left as CDI
    /// has it, with how to look at it and how to delete it.
    /// </summary>
    private async Task<Exception> AfterFailureAsync(Exception failure, string name, string ns, bool keep, bool delivered)
    {
        string note;
        if (delivered)
        {
            note = $"CDI received the data, so DataVolume {ns}/{name} is left as CDI has it: see Get-CdiDataVolume {name} -Namespace {ns}, and delete it with Remove-CdiDataVolume {name} -Namespace {ns} if it is of no use.";
        }
        else if (keep)
        {
            note = $"DataVolume {ns}/{name}, created by this call, is kept (-KeepFailedDataVolume): upload into it again with Import-CdiImage -NoCreate -Name {name} -Namespace {ns}, or delete it with Remove-CdiDataVolume {name} -Namespace {ns}.";
        }
        else
        {
            // The call may have been cancelled: cleaning up gets a time of its own.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await api.DeleteDataVolumeAsync(name, ns, timeout.Token).ConfigureAwait(false);
                note = $"DataVolume {ns}/{name}, created by this call, received no data and was deleted again.";
            }
            catch (Exception cleanup) when (cleanup is ClusterException or HttpRequestException or OperationCanceledException)
            {
                note = $"DataVolume {ns}/{name}, created by this call, received no data and could not be deleted ({cleanup.Message}): delete it with Remove-CdiDataVolume {name} -Namespace {ns}, or upload into it with Import-CdiImage -NoCreate -Name {name} -Namespace {ns}.";
            }
        }

        return failure switch
        {
            OperationCanceledException => failure,
            ImageException image => new ImageException(image.Error, $"{image.Message} {note}", null, image),
            ClusterException cluster => new ClusterException(cluster.ErrorId, cluster.Kind, $"{cluster.Message} {note}", cluster),
            UnauthorizedAccessException => new UnauthorizedAccessException($"{failure.Message} {note}", failure),
            _ => new IOException($"{failure.Message} {note}", failure),
        };
    }

    /// <summary>
    /// What the upload DataVolume (storage API) asks for to hold the image: the disk's size, which
    /// CDI grows by the class's filesystem overhead for a Filesystem volume (see <see cref="PvcSize.Request"/>).
    /// </summary>
    public static long RequestSize(long virtualSize, ImageUploadRequest request, CdiConfig config, CdiVersion? release) =>
        PvcSize.Request(virtualSize, ModeOf(request), pvcApi: false, config.FilesystemOverheadFor(request.StorageClass), release);

    /// <summary>The PVC CDI makes for the upload DataVolume's request.</summary>
    public static long ClaimSize(long requestSize, ImageUploadRequest request, CdiConfig config, CdiVersion? release) =>
        PvcSize.Claim(requestSize, ModeOf(request), pvcApi: false, config.FilesystemOverheadFor(request.StorageClass), release);

    private static PvcVolumeMode ModeOf(ImageUploadRequest request) => request.VolumeMode == "Block" ? PvcVolumeMode.Block : PvcVolumeMode.Filesystem;


    private async Task<DataVolumeWaitState> WaitAsync(string ns, ImageUploadRequest request, string phase, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var results = await waiter.WaitAsync(
            [(ns, request.Name)],
            new DataVolumeWaitOptions(phase, 3, timeout, StopWhenWaitingForConsumer: true),
            _ => { },
            _ => { },
            cancellationToken).ConfigureAwait(false);
        var state = results[0];
        if (state.Assessment.Outcome != WaitOutcome.Reached)
        {
            var kind = state.Assessment.ErrorId switch
            {
                "WaitTimedOut" => ClusterErrorKind.Timeout,
                "DataVolumeNotFound" => ClusterErrorKind.NotFound,
                _ => ClusterErrorKind.Other,
            };
            var hint = state.Assessment.Hint is { } h ? $" {h}" : string.Empty;
            throw new ClusterException(state.Assessment.ErrorId ?? "UploadFailed", kind, $"{state.Assessment.Message}{hint}");
        }

        return state;
    }

    private async Task<UploadToken> TokenAsync(string name, string ns, CancellationToken cancellationToken)
    {
        var value = await api.RequestUploadTokenAsync(name, ns, cancellationToken).ConfigureAwait(false);
        return new UploadToken(value, DateTimeOffset.UtcNow);
    }

    // The engine converts on its own thread into a pipe; the request reads the pipe as the network takes it.
    private static async Task<ImportResult> ConvertInto(Stream destination, ImageUploadRequest request, Action<ConversionProgress> progress, CancellationToken cancellationToken)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16 << 20, resumeWriterThreshold: 8 << 20, useSynchronizationContext: false));
        var producer = Task.Factory.StartNew(
            async () =>
            {
                try
                {
                    var stream = pipe.Writer.AsStream(leaveOpen: true);
                    var result = await RawExport.ToStreamAsync(request.Source, stream, gzip: true, request.OpenOptions, progress, cancellationToken).ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                    return result;
                }
                catch (Exception e)
                {
                    await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                    throw;
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
        try
        {
            await pipe.Reader.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await pipe.Reader.CompleteAsync(e).ConfigureAwait(false);
            await Task.WhenAny(producer).ConfigureAwait(false);
            if (producer.IsFaulted)
            {
                // The image failed first; its error says more than the broken pipe.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(producer.Exception!.GetBaseException());
            }

            throw;
        }

        return await producer.ConfigureAwait(false);
    }
}
