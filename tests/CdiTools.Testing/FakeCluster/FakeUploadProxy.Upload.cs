using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using static CdiTools.Testing.FakeCluster.JsonStrings;

namespace CdiTools.Testing.FakeCluster;

/// <summary>The upload server's side: one body, its outcome, and the DataVolume's completion.</summary>
public sealed partial class FakeUploadProxy
{
    private async Task<int?> UploadAsync(HttpContext context, string path, UploadRoute handler, bool archive, FakeUploadToken issued, JsonObject pvc, UploadServer uploadServer)
    {
        var request = context.Request;
        var started = DateTimeOffset.UtcNow;
        var cdiContentType = request.Headers["x-cdi-content-type"].ToString();
        var wire = new WireStream(request.Body, Faults.TakeReset(), Faults.Slow, context.Abort);
        var facts = new UploadFacts();
        var job = new UploadJob
        {
            Archive = archive,
            Async = handler.Async,
            Block = Text(pvc["spec"]?["volumeMode"]) == "Block",
            Available = AvailableSpace(pvc),
            StoredPath = NewStoredPath(issued.Namespace, issued.PvcName),
            ScratchDirectory = StorageDirectory,
            ConnectionLost = () => wire.WasReset || context.RequestAborted.IsCancellationRequested,
        };

        int? status = null;
        var message = "";
        var succeeded = false;
        try
        {
            if (handler.Async && cdiContentType is "filesystem-clone" or "blockdevice-clone")
            {
                throw new UploadRejection(500, "Saving stream failed: async clone not supported");
            }

            if (!handler.Async && cdiContentType is "filesystem-clone" or "blockdevice-clone")
            {
                throw new UploadRejection(500, $"Saving stream failed: the fake upload server does not take {cdiContentType} streams");
            }

            var body = handler.Form ? await OpenFormFileAsync(request, wire, context.RequestAborted).ConfigureAwait(false) : wire;
            if (body is null)
            {
                // CDI writes 400 when the form has no "file" part (and then trips over the missing stream).
                throw new UploadRejection(400, "");
            }

            await Task.Run(() => UploadBodyProcessor.Process(body, job, facts, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
            succeeded = true;
            status = 200;
        }
        catch (Exception) when (job.ConnectionLost())
        {
            // A reset or a client that went away: nobody to answer, and the upload server is free again.
        }
        catch (UploadRejection rejection)
        {
            (status, message) = (rejection.Status, rejection.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            (status, message) = (500, "Saving stream failed: " + e.Message);
        }

        if (!succeeded && facts.StoredPath is null)
        {
            File.Delete(job.StoredPath);
        }

        lock (uploadServers)
        {
            uploadServer.Uploading = false;
            if (succeeded)
            {
                uploadServer.Processing = handler.Async;
                uploadServer.Done = !handler.Async;
            }
        }

        uploads.Enqueue(new FakeUpload
        {
            Namespace = issued.Namespace,
            PvcName = issued.PvcName,
            Path = path,
            Async = handler.Async,
            Form = handler.Form,
            Archive = archive,
            ContentType = request.ContentType,
            CdiContentType = cdiContentType.Length > 0 ? cdiContentType : null,
            ContentLength = request.ContentLength,
            BytesReceived = wire.BytesRead,
            Layers = [.. facts.Layers],
            Format = facts.Format,
            VirtualSize = facts.VirtualSize,
            Status = status,
            Message = message,
            Reset = wire.WasReset,
            ClientAborted = !wire.WasReset && status is null,
            StoredPath = succeeded ? facts.StoredPath : null,
            Sha256 = succeeded ? facts.Sha256 : null,
            StoredLength = succeeded ? facts.StoredLength : null,
            Started = started,
            Finished = DateTimeOffset.UtcNow,
        });

        if (succeeded)
        {
            // The fake names PVCs after their DataVolumes, as CDI does.
            if (handler.Async)
            {
                completions.Add(CompleteLaterAsync(issued.Namespace, issued.PvcName, uploadServer));
            }
            else
            {
                server.CompleteUpload(issued.Namespace, issued.PvcName);
            }
        }

        if (status is not { } answer)
        {
            context.Abort();
            return null;
        }

        return await WriteAsync(context, answer, message).ConfigureAwait(false);
    }

    /// <summary>An asynchronous upload's processing after the answer: then the upload server is done and the DataVolume completes.</summary>
    private async Task CompleteLaterAsync(string ns, string name, UploadServer uploadServer)
    {
        try
        {
            await Task.Delay(Options.AsyncCompletionDelay, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (uploadServers)
        {
            uploadServer.Processing = false;
            uploadServer.Done = true;
        }

        server.CompleteUpload(ns, name);
    }

    /// <summary>
    /// The form's <c>file</c> part, as Go's Request.MultipartReader finds it (form-data or mixed),
    /// or null when the body is no such form or has no such part.
    /// </summary>
    private static async Task<Stream?> OpenFormFileAsync(HttpRequest request, Stream wire, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
            || !(media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) || media.MediaType.Equals("multipart/mixed", StringComparison.OrdinalIgnoreCase))
            || HeaderUtilities.RemoveQuotes(media.Boundary).Value is not { Length: > 0 } boundary)
        {
            return null;
        }

        var reader = new MultipartReader(boundary, wire) { BodyLengthLimit = null };
        while (await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false) is { } section)
        {
            if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && HeaderUtilities.RemoveQuotes(disposition.Name).Value == "file")
            {
                return section.Body;
            }
        }

        return null;
    }
}
