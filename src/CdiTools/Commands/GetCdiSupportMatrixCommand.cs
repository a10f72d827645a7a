using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Support;
using CdiTools.Completion;

namespace CdiTools.Commands;

/// <summary>
/// Get-CdiSupportMatrix: which content types and formats CDI imports from which endpoints, and
/// which of those need scratch space; as documented, or as a given CDI release behaves.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CdiSupportMatrix", DefaultParameterSetName = EntriesSet)]
[OutputType(typeof(CdiSupportEntry), ParameterSetName = [EntriesSet])]
[OutputType(typeof(CdiSupportGridRow), ParameterSetName = [GridSet])]
[OutputType(typeof(CdiEngineSupportEntry), ParameterSetName = [EngineSet])]
public sealed class GetCdiSupportMatrixCommand : PSCmdlet
{
    private const string EntriesSet = "Entries";
    private const string GridSet = "Grid";
    private const string EngineSet = "Engine";

    // A reference, not the CdiVersion struct: see the remarks on CdiSupportEntry.
    private SupportQuery baseQuery = new();

    /// <summary>
    /// Only these formats: the rows of CDI's table (Qcow2, Qcow2Gz, Qcow2Xz, Raw, RawGz, RawXz, Tar),
    /// and, with -Engine, the formats CDI converts that its table leaves out (Vmdk, Vhd, Vhdx, Vdi).
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [ValidateSet("Qcow2", "Qcow2Gz", "Qcow2Xz", "Raw", "RawGz", "RawXz", "Tar", "Vmdk", "Vhd", "Vhdx", "Vdi", IgnoreCase = true)]
    public string[]? Format { get; set; }

    /// <summary>Only these content types (Kubevirt, Archive).</summary>
    [Parameter]
    public CdiContentType[]? ContentType { get; set; }

    /// <summary>Only these endpoints (Http, Https, HttpBasicAuth, Registry, Upload).</summary>
    [Parameter]
    public CdiEndpoint[]? Endpoint { get; set; }

    /// <summary>Only entries that need scratch space; with <c>:$false</c>, only those that do not.
    /// With -Engine: only entries for which CDI allocates a scratch PVC.</summary>
    [Parameter(ParameterSetName = EntriesSet)]
    [Parameter(ParameterSetName = EngineSet)]
    public SwitchParameter RequiresScratch { get; set; }

    /// <summary>Answer for what this CDI release does rather than for the documentation.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(CdiVersionCompleter))]
    [ValidateNotNullOrEmpty]
    public string? CdiVersion { get; set; }

    /// <summary>One line per content type and format, one column per endpoint.</summary>
    [Parameter(Mandatory = true, ParameterSetName = GridSet)]
    public SwitchParameter AsGrid { get; set; }

    /// <summary>What Import-CdiImage does on the client for each cell, and for vmdk, vhd, vhdx and vdi, beside CDI's mark.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EngineSet)]
    public SwitchParameter Engine { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        var matrix = SupportMatrix.Cdi;
        if (CdiVersion is null)
        {
            WriteVerbose("Answering from CDI's documentation (doc/scratch-space.md); use -CdiVersion for what a release does.");
            return;
        }

        if (!Cluster.CdiVersion.TryParse(CdiVersion, out var parsed))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"'{CdiVersion}' is not a CDI release number such as v1.66.0 (the CDI CR reports it as status.observedVersion)."),
                "InvalidCdiVersion",
                ErrorCategory.InvalidArgument,
                CdiVersion));
        }

        if (parsed < matrix.OldestRelease)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentOutOfRangeException(nameof(CdiVersion), $"CDI {parsed} is older than {matrix.OldestRelease}, the oldest release whose behaviour CdiTools models; omit -CdiVersion for the documented matrix."),
                "CdiVersionNotModeled",
                ErrorCategory.InvalidArgument,
                CdiVersion));
        }

        if (parsed > matrix.NewestRelease)
        {
            WriteWarning($"CDI {parsed} is newer than {matrix.NewestRelease}, the newest release CdiTools knows; the answer is {matrix.NewestRelease}'s behaviour.");
        }

        foreach (var change in matrix.Changes.Where(c => c.IsIn(parsed)))
        {
            WriteVerbose($"CDI {parsed} contains '{change.Title}', {change.Citation}.");
        }

        baseQuery = new SupportQuery { Release = parsed };
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var formats = (Format ?? []).Where(f => Enum.TryParse<CdiImageFormat>(f, ignoreCase: true, out _)).Select(f => Enum.Parse<CdiImageFormat>(f, ignoreCase: true)).ToList();
        var others = (Format ?? []).Where(f => !Enum.TryParse<CdiImageFormat>(f, ignoreCase: true, out _)).Select(f => f.ToLowerInvariant()).ToList();
        if (others.Count > 0 && !Engine)
        {
            WriteWarning($"CDI's support matrix has no row for {string.Join(", ", others)}: CDI converts such images with qemu-img like qcow2, through scratch space. Get-CdiSupportMatrix -Engine -Format {string.Join(",", others)} shows what Import-CdiImage does with them.");
        }

        var query = baseQuery with
        {
            ContentTypes = ContentType ?? [],
            Formats = formats,
            OtherFormats = others,
            Endpoints = Endpoint ?? [],
            RequiresScratch = MyInvocation.BoundParameters.ContainsKey(nameof(RequiresScratch)) ? RequiresScratch.IsPresent : null,
        };

        if (Engine)
        {
            WriteObject(EngineSupportMatrix.Select(query).Select(entry => new CdiEngineSupportEntry(entry)), enumerateCollection: true);
        }
        else if (AsGrid)
        {
            WriteObject(SupportMatrix.Cdi.Grid(query).Select(row => new CdiSupportGridRow(row)), enumerateCollection: true);
        }
        else
        {
            WriteObject(SupportMatrix.Cdi.Select(query).Select(entry => new CdiSupportEntry(entry)), enumerateCollection: true);
        }
    }
}
