using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Scratch;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Test-CdiScratchSpace: before an import, whether CDI's scratch PVC for it will be created and
/// bind (class, size, quota, LimitRange, static volumes), for a DataVolume described as
/// New-CdiDataVolume takes it, or ones that exist, piped from Get-CdiDataVolume.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "CdiScratchSpace", DefaultParameterSetName = ExistingSet)]
[OutputType(typeof(CdiScratchSpaceReport), typeof(bool))]
public sealed class TestCdiScratchSpaceCommand : DataVolumeSpecCmdlet
{
    private const string ExistingSet = "Existing";

    /// <summary>The planned DataVolume's name (optional); when it names one that exists, its PVC counts as made already.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = HttpSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = RegistrySet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ImageStreamSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = UploadSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = BlankSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PvcSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = SnapshotSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = DataSourceSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = S3Set)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = GcsSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ImageIoSet)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = VddkSet)]
    public string Name { get; set; } = "";

    /// <summary>
    /// DataVolumes from Get-CdiDataVolume, tested as they are. Their set is the default one: PowerShell
    /// binds piped objects to the default set only, and a piped object is a DataVolume far more
    /// often than a CSV row here; planned DataVolumes are described with the source parameters.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ExistingSet)]
    public CdiDataVolume[] DataVolume { get; set; } = [];

    /// <summary>Returns only whether the scratch PVC can bind (no finding of severity Error).</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var preflight = new ScratchSpacePreflight(new CdiApi(Connect()));
        if (ParameterSetName == ExistingSet)
        {
            foreach (var dataVolume in DataVolume)
            {
                Report(dataVolume.ToString(), token => preflight.TestExistingAsync(dataVolume.Name, dataVolume.Namespace, token));
            }

            return;
        }

        if (TryBuildRequest(Name, null, null, false) is not { } request)
        {
            return;
        }

        Report(Name, token => preflight.TestRequestAsync(request, token));
    }

    private void Report(string target, Func<CancellationToken, Task<ScratchSpaceReport>> test)
    {
        try
        {
            var report = new CdiScratchSpaceReport(RunWorker((_, token) => test(token)));
            foreach (var finding in report.Findings)
            {
                WriteVerbose($"{report.DataVolume}: {finding}");
            }

            WriteObject(Quiet ? report.Ready : report);
        }
        catch (DataVolumeRequestException e)
        {
            WriteRequestProblems(e, target);
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, target));
        }
    }
}
