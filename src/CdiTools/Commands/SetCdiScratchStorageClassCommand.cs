using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Scratch;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Set-CdiScratchStorageClass: sets (or clears) the storage class of CDI's scratch PVCs on the
/// object that really owns it, checks the class first, and can wait until CDI has applied it.
/// </summary>
[Cmdlet(VerbsCommon.Set, "CdiScratchStorageClass", DefaultParameterSetName = SetName, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CdiScratchStorageClass))]
public sealed class SetCdiScratchStorageClassCommand : ClusterCmdlet
{
    private const string SetName = "Set";
    private const string ClearName = "Clear";

    /// <summary>The StorageClass; a StorageClass object from the pipeline gives its name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = SetName)]
    [Alias("StorageClass")]
    [KubernetesNameTransformation]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Removes the setting, so that CDI's fallback rules decide.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClearName)]
    public SwitchParameter Clear { get; set; }

    /// <summary>Sets a class that does not exist (CDI ignores it until it does), with a warning.</summary>
    [Parameter(ParameterSetName = SetName)]
    public SwitchParameter Force { get; set; }

    /// <summary>Waits until CDIConfig's status shows the change.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>How long -Wait waits, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int Timeout { get; set; } = 120;

    /// <summary>Writes the resulting CdiScratchStorageClass.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var service = new ScratchStorageClassService(new CdiApi(Connect()));
        var storageClass = Clear ? null : Name;
        try
        {
            var plan = RunWorker((_, token) => service.PlanAsync(storageClass, token));
            if (!plan.ClassExists)
            {
                if (!Force)
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"{plan.Consequence} Create the StorageClass first, or use -Force to set it anyway."),
                        "StorageClassNotFound",
                        ErrorCategory.ObjectNotFound,
                        storageClass));
                    return;
                }

                WriteWarning(plan.Consequence);
            }

            if (plan.BlockOnly)
            {
                WriteWarning($"The StorageProfile of '{storageClass}' offers only Block volumes; scratch space needs a Filesystem volume, so scratch PVCs will not bind.");
            }

            var action = storageClass is null ? $"Remove {plan.Owner.Field}" : $"Set {plan.Owner.Field} to '{storageClass}'";
            if (!ShouldProcess(plan.Owner.Description, action))
            {
                return;
            }

            plan = RunWorker((_, token) => service.ApplyAsync(plan, token));
            WriteVerbose($"{action} on {plan.Owner.Description}, because {plan.Owner.Reason}. {plan.Consequence}");
            if (Wait)
            {
                RunWorker((channel, token) =>
                {
                    channel.Progress(new ProgressRecord(1, "Set-CdiScratchStorageClass", $"Waiting for CDI to apply it (up to {Timeout} s)"));
                    return service.WaitAsync(plan, TimeSpan.FromSeconds(Timeout), token);
                });
                WriteVerbose($"CDIConfig's status now shows {(plan.ExpectedStatus is null ? "no class" : $"'{plan.ExpectedStatus}'")}.");
            }

            if (PassThru)
            {
                WriteObject(new CdiScratchStorageClass(RunWorker((_, token) => service.DescribeAsync(null, null, token))));
            }
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, storageClass));
        }
    }
}
