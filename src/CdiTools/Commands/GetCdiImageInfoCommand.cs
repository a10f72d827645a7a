using System.Management.Automation;
using CdiTools.Cluster.Sizing;
using CdiTools.Engine;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Get-CdiImageInfo: an image's layers, format, disk size and features, and the PVC size CDI
/// needs for it, without writing anything.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CdiImageInfo", DefaultParameterSetName = PathSet)]
[OutputType(typeof(CdiImageInfo))]
public sealed class GetCdiImageInfoCommand : ImageSourceCmdlet
{
    private int activityId;

    /// <summary>The share of a Filesystem PVC its filesystem takes (CDIConfig's filesystemOverhead); 0.06 is CDI's default.</summary>
    [Parameter]
    [ValidateRange(0.0, 0.99)]
    public double FilesystemOverhead { get; set; } = PvcSize.DefaultFilesystemOverhead;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var source in ResolveLocations())
        {
            try
            {
                var id = ++activityId;
                var info = RunWorker(async (channel, token) =>
                {
                    var progress = new ConversionProgressRecords(id, $"Get-CdiImageInfo {source.Name}", channel.Progress);
                    try
                    {
                        return await ImageSizing.DescribeAsync(source, new ImageOpenOptions(), FilesystemOverhead, progress.Report, token).ConfigureAwait(false);
                    }
                    finally
                    {
                        progress.Complete();
                    }
                });

                if (info.Image.SizeMeasured)
                {
                    WriteVerbose($"{source}: the {info.Image.Details.Format} format does not state its size; measured {ByteSize.Format(info.Image.VirtualSize)} by decoding it.");
                }

                foreach (var warning in info.Image.Warnings)
                {
                    WriteWarning(warning);
                }

                if (info.Image.VirtualSize == 0)
                {
                    WriteWarning($"{source}: the image holds no disk (0 bytes); Import-CdiImage refuses it (EmptyImage).");
                }

                WriteObject(new CdiImageInfo(info));
            }
            catch (Exception e) when (e is ImageException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                WriteError(ErrorRecords.From(e, source.ToString()));
            }
        }
    }
}
