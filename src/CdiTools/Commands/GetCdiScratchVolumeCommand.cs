using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Scratch;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Get-CdiScratchVolume: the scratch PVCs CDI has made in a namespace or in all of them, each with
/// the DataVolume it serves, its class, size, phase and age, why it is Pending, and whether it is
/// orphaned.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CdiScratchVolume", DefaultParameterSetName = InNamespace)]
[OutputType(typeof(CdiScratchVolume))]
public sealed class GetCdiScratchVolumeCommand : ClusterCmdlet
{
    private const string InNamespace = "Namespace";
    private const string Everywhere = "AllNamespaces";

    /// <summary>Names of scratch PVCs or wildcard patterns; every one when omitted.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>The namespace; the context's when omitted.</summary>
    [Parameter(ParameterSetName = InNamespace, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Looks in every namespace.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Everywhere)]
    [Alias("A")]
    public SwitchParameter AllNamespaces { get; set; }

    /// <summary>Only the scratch PVCs that nothing needs any more.</summary>
    [Parameter]
    public SwitchParameter Orphaned { get; set; }

    /// <summary>Only those that serve these DataVolumes: names or wildcard patterns, or NAMESPACE/NAME; DataVolumes piped from Get-CdiDataVolume.</summary>
    [Parameter(ValueFromPipeline = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? DataVolume { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = Connect();
        var service = new ScratchVolumeService(new CdiApi(connection));
        var ns = AllNamespaces ? null : connection.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);
        var names = Patterns(Name);
        var dataVolumes = Patterns(DataVolume);
        try
        {
            foreach (var volume in RunWorker((_, token) => service.ListAsync(ns, token)))
            {
                if ((names is null || names.Any(p => p.IsMatch(volume.Name)))
                    && (dataVolumes is null || (volume.DataVolume is { } served && dataVolumes.Any(p => p.IsMatch(served) || p.IsMatch($"{volume.Namespace}/{served}"))))
                    && (!Orphaned || volume.Orphaned))
                {
                    WriteObject(new CdiScratchVolume(volume));
                }
            }
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, ns));
        }
    }

    private static List<WildcardPattern>? Patterns(string[]? texts) =>
        texts?.Select(t => new WildcardPattern(t, WildcardOptions.IgnoreCase)).ToList();
}
