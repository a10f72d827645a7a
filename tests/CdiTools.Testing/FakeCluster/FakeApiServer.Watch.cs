using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace CdiTools.Testing.FakeCluster;

/// <summary>Watches: newline-delimited events over a chunked response, as the API server streams them.</summary>
public sealed partial class FakeApiServer
{
    private async Task WatchAsync(HttpContext context, Target target, Action<int> log)
    {
        var request = context.Request;
        var r = target.Resource;
        var labels = LabelSelector.Parse(request.Query["labelSelector"]);
        var fields = FieldSelector.Parse(request.Query["fieldSelector"], r);
        if (target.Name is not null)
        {
            fields = FieldSelector.Parse($"metadata.name={target.Name}", r);
        }

        var ns = target.AllNamespaces ? null : target.Namespace;
        bool Matches(JsonObject o) => (ns is null || ObjectStore.NamespaceOf(o) == ns) && labels.Matches(o) && fields.Matches(o);

        var requested = request.Query["resourceVersion"].ToString();
        long cursor;
        var initial = new List<JsonObject>();
        if (requested is "" or "0")
        {
            // No version (or "0", any version): the current state first, as ADDED events.
            lock (store.Gate)
            {
                cursor = store.CurrentVersion;
                initial.AddRange(store.List(r, ns).Where(Matches));
            }
        }
        else if (!long.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out cursor))
        {
            throw ApiError.BadRequest($"invalid resource version: {requested}");
        }

        var timeout = int.TryParse(request.Query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(30);

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-cache, private";
        await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        log(200);

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
        ending.CancelAfter(timeout);
        try
        {
            foreach (var obj in initial)
            {
                await WriteEventAsync(response, "ADDED", obj, ending.Token).ConfigureAwait(false);
            }

            await response.Body.FlushAsync(ending.Token).ConfigureAwait(false);
            while (!ending.IsCancellationRequested)
            {
                var (events, changed) = store.ReadAfter(cursor);
                if (events is null)
                {
                    var expired = ApiError.Gone($"too old resource version: {cursor} ({store.CurrentVersion})").ToStatus();
                    await WriteEventAsync(response, "ERROR", expired, ending.Token).ConfigureAwait(false);
                    await response.Body.FlushAsync(ending.Token).ConfigureAwait(false);
                    return;
                }

                foreach (var e in events)
                {
                    cursor = e.ResourceVersion;
                    if (e.Resource != r)
                    {
                        continue;
                    }

                    // With a selector, an object moving into it is ADDED and one moving out is DELETED.
                    var now = Matches(e.Object);
                    var before = e.Previous is not null && Matches(e.Previous);
                    var type = e.Type switch
                    {
                        "ADDED" => now ? "ADDED" : null,
                        "DELETED" => before || now ? "DELETED" : null,
                        _ => (before, now) switch
                        {
                            (true, true) => "MODIFIED",
                            (false, true) => "ADDED",
                            (true, false) => "DELETED",
                            _ => null,
                        },
                    };
                    if (type is not null)
                    {
                        await WriteEventAsync(response, type, e.Object, ending.Token).ConfigureAwait(false);
                    }
                }

                await response.Body.FlushAsync(ending.Token).ConfigureAwait(false);
                await changed.WaitAsync(ending.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ending.IsCancellationRequested)
        {
            // timeoutSeconds passed, the client went away, or the server is stopping: the stream just ends.
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, string type, JsonObject obj, CancellationToken cancellation)
    {
        var line = JsonOutput.Text(new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }) + "\n";
        await response.WriteAsync(line, cancellation).ConfigureAwait(false);
    }
}
