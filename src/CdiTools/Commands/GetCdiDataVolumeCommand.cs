using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>Get-CdiDataVolume: DataVolumes by name (wildcards allowed) in a namespace or all of them, with their state and scratch needs.</summary>
[Cmdlet(VerbsCommon.Get, "CdiDataVolume", DefaultParameterSetName = InNamespace)]
[OutputType(typeof(CdiDataVolume))]
public sealed class GetCdiDataVolumeCommand : ClusterCmdlet
{
    private const string InNamespace = "Namespace";
    private const string Everywhere = "AllNamespaces";

    /// <summary>Names or wildcard patterns; every DataVolume when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [KubernetesNameTransformation]
    public string[]? Name { get; set; }

    /// <summary>The namespace; the context's when omitted.</summary>
    [Parameter(ParameterSetName = InNamespace, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Looks in every namespace.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Everywhere)]
    [Alias("A")]
    public SwitchParameter AllNamespaces { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var service = new DataVolumeService(new CdiApi(Connect()));
        var ns = AllNamespaces ? null : service.NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);

        // NAMESPACE/NAME (as kubectl prints it) looks in that namespace; plain names in -Namespace's.
        var groups = new List<(string? Namespace, List<string>? Names)>();
        if (Name is null)
        {
            groups.Add((ns, null));
        }
        else
        {
            foreach (var text in Name)
            {
                (string? Namespace, string Name) target;
                try
                {
                    var (named, name) = QualifiedName.Parse(text);
                    target = (named ?? ns, name);
                }
                catch (ArgumentException e)
                {
                    WriteError(new ErrorRecord(e, "InvalidName", ErrorCategory.InvalidArgument, text));
                    continue;
                }

                if (groups.FindIndex(g => g.Namespace == target.Namespace) is var at and >= 0)
                {
                    groups[at].Names!.Add(target.Name);
                }
                else
                {
                    groups.Add((target.Namespace, [target.Name]));
                }
            }
        }

        try
        {
            foreach (var (groupNamespace, names) in groups)
            {
                List(service, groupNamespace, names);
            }
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, Name));
        }
    }

    private void List(DataVolumeService service, string? ns, List<string>? names)
    {
        var patterns = (names ?? ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var found = RunWorker((_, token) => service.ListAsync(ns, name => patterns.Any(p => p.IsMatch(name)), token));
        foreach (var view in found)
        {
            WriteObject(new CdiDataVolume(view));
        }

        // As Get-Item does: a plain name that matched nothing is an error; a pattern is not.
        foreach (var missing in (names ?? []).Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !found.Any(v => string.Equals(v.Name, n, StringComparison.OrdinalIgnoreCase))))
        {
            WriteError(new ErrorRecord(
                new ItemNotFoundException($"There is no DataVolume '{missing}' in {(ns is null ? "any namespace" : $"namespace {ns}")}."),
                "DataVolumeNotFound",
                ErrorCategory.ObjectNotFound,
                missing));
        }
    }
}
