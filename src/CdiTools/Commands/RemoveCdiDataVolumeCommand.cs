using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>Remove-CdiDataVolume: deletes DataVolumes; their PVCs, and the Secrets and ConfigMaps New-CdiDataVolume made for them, go with them.</summary>
/// <remarks>Names take wildcards as Get-CdiDataVolume's do, and NAMESPACE/NAME as kubectl prints them; each match is confirmed on its own.</remarks>
[Cmdlet(VerbsCommon.Remove, "CdiDataVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveCdiDataVolumeCommand : ClusterCmdlet
{
    /// <summary>The DataVolumes to delete; objects from Get-CdiDataVolume or kubectl give their name and namespace.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [KubernetesNameTransformation]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <summary>The namespace; the context's when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Deletes without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var service = new DataVolumeService(new CdiApi(Connect()));
        var defaultNamespace = service.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);
        foreach (var (ns, name) in Targets(service, defaultNamespace))
        {
            if (!ShouldProcessUnlessForced(Force, $"DataVolume {ns}/{name}", "Delete, with its PVC and the data on it"))
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
            catch (ClusterException e)
            {
                WriteError(ErrorRecords.From(e, name));
            }
        }
    }

    // Each name as it is, or what its wildcard matches in its namespace now (a pattern that
    // matches nothing deletes nothing, as with Get-CdiDataVolume).
    private IEnumerable<(string Namespace, string Name)> Targets(DataVolumeService service, string defaultNamespace)
    {
        foreach (var text in Name)
        {
            (string Namespace, string Name) target;
            try
            {
                target = QualifiedName.Split(text, defaultNamespace);
            }
            catch (ArgumentException e)
            {
                WriteError(new ErrorRecord(e, "InvalidName", ErrorCategory.InvalidArgument, text));
                continue;
            }

            if (!WildcardPattern.ContainsWildcardCharacters(target.Name))
            {
                yield return target;
                continue;
            }

            var pattern = new WildcardPattern(target.Name, WildcardOptions.IgnoreCase);
            IReadOnlyList<DataVolumeView> matches;
            try
            {
                matches = RunWorker((_, token) => service.ListAsync(target.Namespace, pattern.IsMatch, token));
            }
            catch (ClusterException e)
            {
                WriteError(ErrorRecords.From(e, text));
                continue;
            }

            foreach (var match in matches)
            {
                yield return (target.Namespace, match.Name);
            }
        }
    }
}
