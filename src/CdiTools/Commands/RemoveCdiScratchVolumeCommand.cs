using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Scratch;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Remove-CdiScratchVolume: deletes orphaned scratch PVCs piped from Get-CdiScratchVolume (or
/// named), each confirmed on its own. A scratch PVC an import still needs is refused with
/// ScratchVolumeInUse; whether it is orphaned is checked again just before the delete.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CdiScratchVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByObject)]
public sealed class RemoveCdiScratchVolumeCommand : ClusterCmdlet
{
    private const string ByObject = "InputObject";
    private const string ByName = "Name";

    /// <summary>Scratch volumes from Get-CdiScratchVolume.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public CdiScratchVolume[] InputObject { get; set; } = [];

    /// <summary>Names of scratch PVCs; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The namespace of the names; the context's when omitted.</summary>
    [Parameter(ParameterSetName = ByName)]
    public string? Namespace { get; set; }

    /// <summary>Deletes without asking; it still removes only orphaned scratch PVCs.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = Connect();
        var service = new ScratchVolumeService(new CdiApi(connection));
        foreach (var volume in Targets(service, connection.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace)))
        {
            Remove(service, volume);
        }
    }

    private IEnumerable<ScratchVolume> Targets(ScratchVolumeService service, string ns)
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var item in InputObject)
            {
                yield return item.Volume;
            }

            yield break;
        }

        IReadOnlyList<ScratchVolume> present;
        try
        {
            present = RunWorker((_, token) => service.ListAsync(ns, token));
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, ns));
            yield break;
        }

        foreach (var text in Name)
        {
            var pattern = new WildcardPattern(text, WildcardOptions.IgnoreCase);
            var matches = present.Where(v => pattern.IsMatch(v.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(text))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no scratch PVC '{text}' in namespace {ns}."), "ScratchVolumeNotFound", ErrorCategory.ObjectNotFound, text));
            }

            foreach (var match in matches)
            {
                yield return match;
            }
        }
    }

    private void Remove(ScratchVolumeService service, ScratchVolume volume)
    {
        var key = $"{volume.Namespace}/{volume.Name}";
        if (!volume.Orphaned)
        {
            WriteError(ErrorRecords.From(ScratchVolumeService.InUse(volume), key));
            return;
        }

        if (!ShouldProcessUnlessForced(Force, $"scratch PVC {key} ({SizeText.Format(volume.Size)}, {volume.OrphanReason})", "Delete"))
        {
            return;
        }

        try
        {
            var outcome = RunWorker((_, token) => service.RemoveAsync(volume, token));
            if (!outcome.Found)
            {
                WriteVerbose($"Scratch PVC {key} is already gone.");
                return;
            }

            WriteVerbose(outcome.Pending
                ? $"Scratch PVC {key} is marked for deletion; it goes once its finalizers are done ({string.Join(", ", outcome.PendingFinalizers)}): kubernetes.io/pvc-protection holds it while a pod still uses it."
                : $"Deleted scratch PVC {key}.");
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, key));
        }
    }
}
