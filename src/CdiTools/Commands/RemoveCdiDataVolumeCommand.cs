using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>Remove-CdiDataVolume: deletes DataVolumes; their PVCs, and the Secrets and ConfigMaps New-CdiDataVolume made for them, go with them.</summary>
[Cmdlet(VerbsCommon.Remove, "CdiDataVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveCdiDataVolumeCommand : ClusterCmdlet
{
    /// <summary>The DataVolumes to delete; objects from Get-CdiDataVolume or kubectl give their name and namespace.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [KubernetesNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The namespace; the context's when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Deletes without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    // -Force answers the confirmation, as with Remove-Item; -WhatIf and an explicit -Confirm still win.
    private bool Skips() =>
        Force
        && !MyInvocation.BoundParameters.ContainsKey("Confirm")
        && !MyInvocation.BoundParameters.ContainsKey("WhatIf")
        && !LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var service = new DataVolumeService(new CdiApi(Connect()));
        var ns = service.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);
        foreach (var name in Name)
        {
            if (!(Skips() || ShouldProcess($"DataVolume {ns}/{name}", "Delete, with its PVC and the data on it")))
            {
                continue;
            }

            try
            {
                var outcome = RunWorker((_, token) => service.RemoveAsync(name, ns, token));
                if (!outcome.Found)
                {
                    WriteError(new ErrorRecord(new ItemNotFoundException($"There is no DataVolume {ns}/{name}."), "DataVolumeNotFound", ErrorCategory.ObjectNotFound, name));
                    continue;
                }

                WriteVerbose(outcome.Pending
                    ? $"DataVolume {ns}/{name} is marked for deletion; it goes once its finalizers are done ({string.Join(", ", outcome.PendingFinalizers)})."
                    : $"Deleted DataVolume {ns}/{name}.");
            }
            catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (ClusterException e)
            {
                WriteError(ErrorRecords.From(e, name));
            }
        }
    }
}
