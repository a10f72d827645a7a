using CdiTools.Cluster.Models;
using CdiTools.Cluster.Support;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>Whether a DataVolume's import will go through a scratch PVC (null: it depends on something CdiTools cannot see), and why.</summary>
public sealed record ScratchPrediction(bool? RequiresScratch, string Reason)
{
    /// <summary>
    /// The prediction for <paramref name="dataVolume"/> from the support matrix of
    /// <paramref name="release"/>. The image format is read from the URL's file name; when it
    /// cannot be, the answer is only certain if every format agrees. With no release (the CDI
    /// version cannot be read), the answer is certain only where every modelled release agrees;
    /// elsewhere it is unknown, never the documented matrix, which releases since v1.57 contradict.
    /// </summary>
    public static ScratchPrediction For(DataVolume dataVolume, CdiVersion? release)
    {
        if (release is { } known)
        {
            return ForRelease(dataVolume, known);
        }

        // Between two notable releases nothing changes, so they stand for every release.
        var answers = SupportMatrix.Cdi.NotableReleases.Select(r => (Release: r, Prediction: ForRelease(dataVolume, r))).ToList();
        if (answers.Select(a => a.Prediction.RequiresScratch).Distinct().Count() == 1)
        {
            var first = answers[0].Prediction;
            return first with { Reason = $"{first.Reason}; the same in every CDI release from {SupportMatrix.Cdi.OldestRelease} to {SupportMatrix.Cdi.NewestRelease}, so the cluster's unknown version does not matter" };
        }

        var byRelease = answers
            .GroupBy(a => a.Prediction.RequiresScratch)
            .Select(g => $"{(g.Key switch { true => "needed", false => "not needed", null => "it depends" })} in {string.Join(", ", g.Select(a => a.Release))}");
        return new(null, $"Unknown: the cluster's CDI version cannot be read, and releases differ here ({string.Join("; ", byRelease)}).");
    }

    private static ScratchPrediction ForRelease(DataVolume dataVolume, CdiVersion release)
    {
        var source = dataVolume.Spec?.Source;
        var archive = dataVolume.Spec?.ContentType == "archive";
        if (dataVolume.Spec?.SourceRef is not null || source?.Pvc is not null || source?.Snapshot is not null)
        {
            return new(false, "Clones copy the source volume without scratch space.");
        }

        if (source?.Blank is not null)
        {
            return new(false, "A blank volume needs no import.");
        }

        var (endpoint, url, certConfigMap, pullMethod) = source switch
        {
            { Upload: not null } => (CdiEndpoint.Upload, null, null, null),
            { Http: { } http } => (HttpEndpoint(http), http.Url, http.CertConfigMap, null),
            { Registry: { } registry } => (CdiEndpoint.Registry, registry.Url, registry.CertConfigMap, registry.PullMethod),
            _ => ((CdiEndpoint?)null, (string?)null, (string?)null, (string?)null),
        };
        if (endpoint is not { } known)
        {
            return new(null, "CdiTools does not model scratch space for this kind of source (S3, GCS, ImageIO, VDDK).");
        }

        var matrix = SupportMatrix.Cdi;
        var entries = matrix.ForRelease(release)
            .Where(e => e.Endpoint == known && e.ContentType == (archive ? CdiContentType.Archive : CdiContentType.Kubevirt))
            .ToList();
        var format = archive ? CdiImageFormat.Tar : FormatOf(url);
        if (format is { } f)
        {
            entries = entries.Where(e => e.Format == f).ToList();
        }

        // Formats agree when they give the same answer, whatever each one's reason.
        var answers = entries.Where(e => e.Supported).Select(e => Decide(e, certConfigMap, pullMethod)).DistinctBy(a => a.RequiresScratch).ToList();
        var by = $"CDI {release}";
        return answers switch
        {
            [] => new(null, $"{by} does not support this import ({(format?.ToString() ?? "the image")} from {known})."),
            [var only] => only with { Reason = $"{only.Reason} ({(format is null ? "any format" : format.ToString())} from {known}, by {by})" },
            _ => new(null, $"It depends on the image format, which the URL does not show (from {known}, by {by})."),
        };
    }

    private static ScratchPrediction Decide(SupportEntry entry, string? certConfigMap, string? pullMethod) => entry.Scratch switch
    {
        ScratchUse.Always => new(true, entry.Reason ?? "CDI copies the image to scratch space first"),
        ScratchUse.Never => new(false, "CDI writes the image straight into the volume"),
        _ => entry.ConditionKey switch
        {
            "customCa" => certConfigMap is null ? new(false, "No custom CA, so no scratch space") : new(true, "A custom CA sends the import through scratch space"),
            "pullMethodPod" => pullMethod == "node" ? new(false, "pullMethod node streams the disk without scratch space") : new(true, "pullMethod pod copies the image to scratch space first"),
            "nbdkitOrCustomCa" when certConfigMap is not null => new(true, "A custom CA sends the import through scratch space"),
            _ => new(null, entry.Condition ?? "It depends on the server"),
        },
    };

    private static CdiEndpoint HttpEndpoint(HttpDataSource http) =>
        http.SecretRef is not null ? CdiEndpoint.HttpBasicAuth
        : http.Url.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? CdiEndpoint.Https
        : CdiEndpoint.Http;

    /// <summary>The format a URL's file name shows (disk.qcow2.xz, disk.img.gz, disk.tar); null when it shows none.</summary>
    public static CdiImageFormat? FormatOf(string? url)
    {
        if (url is null)
        {
            return null;
        }

        var path = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.AbsolutePath : url;
        var name = path[(path.LastIndexOf('/') + 1)..].ToLowerInvariant();
        string[] parts = name.Split('.');
        var last = parts.Length > 1 ? parts[^1] : "";
        var inner = parts.Length > 2 ? parts[^2] : "";
        return last switch
        {
            "qcow2" => CdiImageFormat.Qcow2,
            "img" or "raw" or "iso" => CdiImageFormat.Raw,
            "tar" or "tgz" => CdiImageFormat.Tar,
            "gz" when inner == "qcow2" => CdiImageFormat.Qcow2Gz,
            "xz" when inner == "qcow2" => CdiImageFormat.Qcow2Xz,
            "gz" when inner is "img" or "raw" or "iso" => CdiImageFormat.RawGz,
            "xz" when inner is "img" or "raw" or "iso" => CdiImageFormat.RawXz,
            "gz" or "xz" when inner == "tar" => CdiImageFormat.Tar,
            _ => null,
        };
    }
}
