using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.DataVolumes;
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

    // DataVolumes asked for, from every pipeline input: the namespace (null where -AllNamespaces
    // lets a name without one match in any; a wildcard matches several) and a pattern for the
    // name. Listed once, at the end.
    private readonly List<(string? Namespace, WildcardPattern? NamespacePattern, WildcardPattern Name)> requested = [];
    private ClusterConnection? connection;
    private string? defaultNamespace;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (connection is null)
        {
            connection = Connect();
            defaultNamespace = AllNamespaces ? null : connection.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);
        }

        foreach (var text in DataVolume ?? [])
        {
            try
            {
                var (ns, name) = QualifiedName.Parse(text);
                ns ??= defaultNamespace;
                requested.Add((ns, ns is null ? null : new WildcardPattern(ns, WildcardOptions.IgnoreCase), new WildcardPattern(name, WildcardOptions.IgnoreCase)));
            }
            catch (ArgumentException e)
            {
                WriteError(new ErrorRecord(e, "InvalidName", ErrorCategory.InvalidArgument, text));
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (connection is null || (requested.Count == 0 && MyInvocation.BoundParameters.ContainsKey(nameof(DataVolume))))
        {
            return;
        }

        // One listing per namespace however many DataVolumes came down the pipeline; all of them
        // at once where a name may match in any (no namespace under -AllNamespaces, or a wildcard one).
        IEnumerable<string?> namespaces = requested.Count == 0 ? [defaultNamespace]
            : requested.Any(r => r.Namespace is null || WildcardPattern.ContainsWildcardCharacters(r.Namespace)) ? [null]
            : requested.Select(r => r.Namespace).Distinct(StringComparer.Ordinal);
        var service = new ScratchVolumeService(new CdiApi(connection));
        var names = Patterns(Name);
        foreach (var ns in namespaces)
        {
            try
            {
                foreach (var volume in RunWorker((_, token) => service.ListAsync(ns, token)))
                {
                    if ((names is null || names.Any(p => p.IsMatch(volume.Name)))
                        && (requested.Count == 0 || (volume.DataVolume is { } served && requested.Any(r => (r.NamespacePattern is null || r.NamespacePattern.IsMatch(volume.Namespace)) && r.Name.IsMatch(served))))
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
    }

    private static List<WildcardPattern>? Patterns(string[]? texts) =>
        texts?.Select(t => new WildcardPattern(t, WildcardOptions.IgnoreCase)).ToList();
}
