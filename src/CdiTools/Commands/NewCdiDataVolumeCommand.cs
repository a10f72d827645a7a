using System.Collections;
using System.Globalization;
using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// New-CdiDataVolume: a DataVolume for any CDI source in one line, with the Secret and ConfigMap it
/// needs, checked before sending with the reason CDI would give; or its manifest as YAML.
/// </summary>
[Cmdlet(VerbsCommon.New, "CdiDataVolume", DefaultParameterSetName = HttpSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CdiDataVolume), typeof(string))]
public sealed class NewCdiDataVolumeCommand : DataVolumeSpecCmdlet
{
    /// <summary>The DataVolume's name (and its PVC's).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Preallocates the whole disk.</summary>
    [Parameter]
    public SwitchParameter Preallocation { get; set; }

    [Parameter]
    public Hashtable? Label { get; set; }

    [Parameter]
    public Hashtable? Annotation { get; set; }

    /// <summary>Returns the objects as YAML instead of creating them; needs no cluster.</summary>
    [Parameter]
    public SwitchParameter AsManifest { get; set; }

    /// <summary>With -AsManifest, writes the Secret's values instead of &lt;redacted&gt;.</summary>
    [Parameter]
    public SwitchParameter IncludeSecretValues { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (TryBuildRequest(Name, Label, Annotation, Preallocation) is not { } request)
        {
            return;
        }

        try
        {
            if (AsManifest)
            {
                var built = DataVolumeManifestBuilder.Build(request, Empty(Namespace));
                if (!IncludeSecretValues && DataVolumeManifestYaml.RedactedSecretHint(built) is { } hint)
                {
                    WriteWarning(hint);
                }

                WriteObject(DataVolumeManifestYaml.Render(built, IncludeSecretValues));
                return;
            }

            var service = new DataVolumeService(new CdiApi(Connect()));
            var manifest = service.Plan(request);
            // Only CdiTools.* types here: the cmdlet assembly cannot load KubernetesClient from the module's own context.
            if (!ShouldProcess(string.Join(", ", manifest.Describe()), $"Create from {manifest.SourceText}"))
            {
                return;
            }

            var created = RunWorker((_, token) => service.CreateAsync(request, token));
            foreach (var warning in created.Warnings)
            {
                WriteWarning(warning);
            }

            foreach (var made in created.Manifest.Describe())
            {
                WriteVerbose($"Created {made}.");
            }

            WriteVerbose($"Scratch space: {created.View.Scratch.RequiresScratch switch { true => "needed", false => "not needed", null => "depends" }}. {created.View.Scratch.Reason}");
            WriteObject(new CdiDataVolume(created.View));
        }
        catch (DataVolumeRequestException e)
        {
            WriteRequestProblems(e, Name);
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, Name));
        }
    }
}
