using CdiTools.Engine;

namespace CdiTools.Cluster.Support;

/// <summary>
/// The engine's view of CDI's support matrix: for each row of CDI's table, and for the formats
/// CDI converts but its table leaves out (vmdk, vhd, vhdx, vdi), and for each endpoint, whether
/// Import-CdiImage converts the image on the client and with how many scratch bytes, beside CDI's
/// own answer for the documentation or a release. What the engine converts comes from
/// <see cref="EngineSupport"/>; CDI's side from <see cref="SupportMatrix"/>.
/// </summary>
public static class EngineSupportMatrix
{
    private static readonly Row[] Rows =
    [
        new(CdiContentType.Kubevirt, "qcow2", CdiImageFormat.Qcow2, "qcow2", Wrapped: false),
        new(CdiContentType.Kubevirt, "qcow2.gz", CdiImageFormat.Qcow2Gz, "qcow2", Wrapped: true),
        new(CdiContentType.Kubevirt, "qcow2.xz", CdiImageFormat.Qcow2Xz, "qcow2", Wrapped: true),
        new(CdiContentType.Kubevirt, "raw", CdiImageFormat.Raw, "raw", Wrapped: false),
        new(CdiContentType.Kubevirt, "raw.gz", CdiImageFormat.RawGz, "raw", Wrapped: true),
        new(CdiContentType.Kubevirt, "raw.xz", CdiImageFormat.RawXz, "raw", Wrapped: true),
        new(CdiContentType.Kubevirt, "vmdk", null, "vmdk", Wrapped: false),
        new(CdiContentType.Kubevirt, "vhd", null, "vpc", Wrapped: false),
        new(CdiContentType.Kubevirt, "vhdx", null, "vhdx", Wrapped: false),
        new(CdiContentType.Kubevirt, "vdi", null, "vdi", Wrapped: false),
        new(CdiContentType.Archive, "tar", CdiImageFormat.Tar, DiskFormat: null, Wrapped: false),
    ];

    /// <summary>The engine's entries answering <paramref name="query"/> (content types, formats,
    /// endpoints and release; the scratch filter applies to <see cref="EngineSupportEntry.ClusterScratchPvc"/>).</summary>
    /// <param name="converts">Whether the engine converts a qemu-img format; <see cref="EngineSupport.Converts"/> unless a test asks otherwise.</param>
    /// <param name="reads">Whether the engine reads a URI scheme; <see cref="EngineSupport.Reads"/> unless a test asks otherwise.</param>
    public static IReadOnlyList<EngineSupportEntry> Select(SupportQuery query, Func<string, bool>? converts = null, Func<string, bool>? reads = null)
    {
        converts ??= EngineSupport.Converts;
        reads ??= EngineSupport.Reads;
        var cdi = SupportMatrix.Cdi.Select(query with { ContentTypes = [], Formats = [], OtherFormats = [], Endpoints = [], RequiresScratch = null })
            .ToDictionary(e => (e.Format, e.Endpoint));

        // What the cluster does with what CdiTools sends: a raw disk, gzip-compressed, as an upload.
        var rawUpload = cdi[(CdiImageFormat.RawGz, CdiEndpoint.Upload)];

        var entries = new List<EngineSupportEntry>();
        foreach (var row in Rows)
        {
            if ((query.ContentTypes.Count > 0 && !query.ContentTypes.Contains(row.ContentType))
                || (query.FiltersFormats && !(row.CdiFormat is { } format ? query.Formats.Contains(format) : query.OtherFormats.Contains(row.Format, StringComparer.OrdinalIgnoreCase))))
            {
                continue;
            }

            foreach (var endpoint in SupportMatrix.Cdi.Endpoints)
            {
                if (query.Endpoints.Count > 0 && !query.Endpoints.Contains(endpoint))
                {
                    continue;
                }

                var cdiCell = cdi[(row.CdiFormat ?? CdiImageFormat.Qcow2, endpoint)];
                var entry = Describe(row, endpoint, cdiCell, rawUpload, converts, reads, query.Release);
                if (query.RequiresScratch is not { } scratch || entry.ClusterScratchPvc == scratch)
                {
                    entries.Add(entry);
                }
            }
        }

        return entries;
    }

    private static EngineSupportEntry Describe(
        Row row, CdiEndpoint endpoint, SupportEntry cdiCell, SupportEntry rawUpload, Func<string, bool> converts, Func<string, bool> reads, CdiVersion? release)
    {
        var notes = new List<string>();
        if (row.CdiFormat is null)
        {
            notes.Add($"CDI's table has no row for {row.Format}; CDI converts it with qemu-img as it converts qcow2, so CDI's mark is the qcow2 row's.");
        }

        var reachable = endpoint != CdiEndpoint.Registry || reads("docker");
        var clientSide = row.DiskFormat is { } disk && converts(disk) && reachable;
        if (!clientSide)
        {
            if (row.ContentType == CdiContentType.Archive)
            {
                notes.Add("Archive content is a tar that CDI unpacks into a filesystem volume; CdiTools does not convert it, it hands the tar to CDI.");
            }
            else if (!reachable)
            {
                notes.Add("This version of CdiTools does not read registry images; CDI imports them itself.");
            }

            return new EngineSupportEntry
            {
                ContentType = row.ContentType,
                Format = row.Format,
                CdiFormat = row.CdiFormat,
                Endpoint = endpoint,
                ClientSide = false,
                CdiMark = cdiCell.Mark,
                ClusterScratchPvc = cdiCell.RequiresScratch,
                Command = cdiCell.Supported ? CdiCommand(row, endpoint) : null,
                Notes = notes,
                Release = release,
            };
        }

        var stream = row.Wrapped || endpoint == CdiEndpoint.Registry;
        if (!stream && endpoint is CdiEndpoint.Http or CdiEndpoint.Https or CdiEndpoint.HttpBasicAuth)
        {
            notes.Add("Random access needs a server that answers Range requests; without them the image is read once, forward, with the same result.");
        }

        if (endpoint == CdiEndpoint.Registry && !cdiCell.Supported)
        {
            notes.Add("CDI takes the disk file from a registry image as it is; CdiTools also unwraps a compressed one.");
        }

        if (rawUpload.RequiresScratch)
        {
            notes.Add("CdiTools sends the converted disk as a raw upload; CDI's upload controller still allocates a scratch PVC for it, which stays empty, so its storage class must be able to provision it.");
        }

        return new EngineSupportEntry
        {
            ContentType = row.ContentType,
            Format = row.Format,
            CdiFormat = row.CdiFormat,
            Endpoint = endpoint,
            ClientSide = true,
            Access = stream ? "Stream" : "Random",
            ScratchBytes = EngineSupport.ScratchBytesForOrderedImages,
            CdiMark = cdiCell.Mark,
            ClusterScratchPvc = rawUpload.RequiresScratch,
            Command = ImportCommand(row, endpoint),
            Notes = notes,
            Release = release,
        };
    }

    private static string ImportCommand(Row row, CdiEndpoint endpoint) => endpoint switch
    {
        CdiEndpoint.Http => $"Import-CdiImage -Uri http://server/disk.{row.Format} -Namespace vms",
        CdiEndpoint.Https => $"Import-CdiImage -Uri https://server/disk.{row.Format} -CertificateFile ca.pem -Namespace vms",
        CdiEndpoint.HttpBasicAuth => $"Import-CdiImage -Uri https://server/disk.{row.Format} -Credential $credential -Namespace vms",
        CdiEndpoint.Registry => "Import-CdiImage -Uri docker://registry.example/vms/disk:1.0 -Namespace vms",
        _ => $"Import-CdiImage -Path disk.{row.Format} -Namespace vms",
    };

    private static string CdiCommand(Row row, CdiEndpoint endpoint)
    {
        var archive = row.ContentType == CdiContentType.Archive ? " -ContentType archive" : string.Empty;
        return endpoint switch
        {
            CdiEndpoint.Http => $"New-CdiDataVolume -Name disk -Url http://server/disk.{row.Format}{archive} -Size 10Gi",
            CdiEndpoint.Https => $"New-CdiDataVolume -Name disk -Url https://server/disk.{row.Format} -CertificateFile ca.pem{archive} -Size 10Gi",
            CdiEndpoint.HttpBasicAuth => $"New-CdiDataVolume -Name disk -Url https://server/disk.{row.Format} -Credential $credential{archive} -Size 10Gi",
            CdiEndpoint.Registry => "New-CdiDataVolume -Name disk -RegistryUrl docker://registry.example/vms/disk:1.0 -Size 10Gi",
            _ => row.ContentType == CdiContentType.Archive
                ? $"Import-CdiImage -Path disk.{row.Format} -Archive -Namespace vms"
                : $"Import-CdiImage -Path disk.{row.Format} -NoConvert -Namespace vms",
        };
    }

    private sealed record Row(CdiContentType ContentType, string Format, CdiImageFormat? CdiFormat, string? DiskFormat, bool Wrapped);
}
