using System.Management.Automation;
using CdiTools.Engine;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Import-CdiImage: converts qcow2 or raw images, possibly in gz, xz, zstd or tar, to raw disks in
/// one pass, with holes for zeros, and nothing left behind on failure or Ctrl+C.
/// </summary>
[Cmdlet(VerbsData.Import, "CdiImage", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CdiImportResult))]
public sealed class ImportCdiImageCommand : ImageSourceCmdlet
{
    private int activityId;

    /// <summary>The raw disk file to write, or a folder to write NAME.raw into; a script block may compute it per input.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? DestinationPath { get; set; }

    /// <summary>Replace an existing destination file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The SHA-256 the image file must have ("sha256:HEX" or "HEX"), checked as it streams.</summary>
    [Parameter]
    [ValidatePattern("^(?i:sha256:)?[0-9a-fA-F]{64}$")]
    public string? Checksum { get; set; }

    /// <summary>Write a CdiImportResult for each image.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var options = new ImageOpenOptions
        {
            ExpectedSha256 = Checksum is null ? null : Checksum[(Checksum.IndexOf(':', StringComparison.Ordinal) + 1)..],
        };

        foreach (var source in ResolveLocations())
        {
            var destination = LocalImport.ResolveDestination(GetUnresolvedProviderPathFromPSPath(DestinationPath!), source);
            if (!ShouldProcess(destination, $"Convert {source} to a raw disk"))
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
                    $"read {ByteSize.Format(result.BytesRead)}, {(result.RandomAccess ? "random access" : "one forward pass")}, scratch {ByteSize.Format(result.ScratchBytes)}.");
                if (PassThru)
                {
                    WriteObject(new CdiImportResult(result, source.ToString(), destination));
                }
            }
            catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (Exception e) when (e is ImageException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                WriteError(ErrorRecords.From(e, source.ToString()));
            }
        }
    }
}
