using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Scratch;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Get-CdiScratchStorageClass: the storage class CDI gives scratch PVCs on the cluster, or for one
/// DataVolume, with where it is configured and how CDI's rules for the installed release decide.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CdiScratchStorageClass", DefaultParameterSetName = ByName)]
[OutputType(typeof(CdiScratchStorageClass))]
public sealed class GetCdiScratchStorageClassCommand : ClusterCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "InputObject";

    /// <summary>A DataVolume (or PVC) to answer for: the class its scratch PVC would get.</summary>
    [Parameter(Position = 0, ParameterSetName = ByName)]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string? DataVolume { get; set; }

    /// <summary>
    /// A DataVolume or PVC from the pipeline: a name, a CdiTools or KubernetesClient object, or
    /// kubectl's JSON through ConvertFrom-Json; its own namespace wins over -Namespace.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public PSObject? InputObject { get; set; }

    /// <summary>The DataVolume's namespace; the context's when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Namespace { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string? name = DataVolume, ns = Namespace;
        if (ParameterSetName == ByObject)
        {
            if (KubernetesObjectReference.From(InputObject) is not { } reference)
            {
                WriteError(new ErrorRecord(
                    new ArgumentException($"A {InputObject?.BaseObject.GetType().Name} names no DataVolume: it has neither a Name nor a metadata.name."),
                    "InputNotAKubernetesObject",
                    ErrorCategory.InvalidArgument,
                    InputObject));
                return;
            }

            (name, ns) = (reference.Name, reference.Namespace ?? Namespace);
        }

        var service = new ScratchStorageClassService(new CdiApi(Connect()));
        try
        {
            var report = RunWorker((_, token) => service.DescribeAsync(name, ns, token));
            WriteVerbose($"The scratch class is set on {report.Owner.Description} because {report.Owner.Reason}.");
            foreach (var warning in report.Warnings)
            {
                WriteWarning(warning);
            }

            WriteObject(new CdiScratchStorageClass(report));
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, name));
        }
    }
}
