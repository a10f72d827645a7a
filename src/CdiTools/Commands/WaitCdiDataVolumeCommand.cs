using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Runtime;

namespace CdiTools.Commands;

/// <summary>
/// Wait-CdiDataVolume: watches DataVolumes until they succeed (or reach the phase named), with a
/// progress bar for each; a failing import that CDI only retries becomes an error with CDI's message
/// and a hint.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "CdiDataVolume")]
[OutputType(typeof(CdiDataVolume))]
public sealed class WaitCdiDataVolumeCommand : ClusterCmdlet
{
    private readonly List<(string Namespace, string Name)> targets = [];

    /// <summary>The DataVolumes; objects from New- or Get-CdiDataVolume or kubectl give their name and namespace.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [KubernetesNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The namespace; the context's when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>The phase that ends the wait.</summary>
    [Parameter]
    [ValidateSet("Succeeded", "UploadReady", "WaitForFirstConsumer", "PendingPopulation", "ImportInProgress", "CloneInProgress", "Paused", IgnoreCase = true)]
    public string For { get; set; } = DataVolumeHealth.Succeeded;

    /// <summary>How long to wait in all, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, 7 * 24 * 3600)]
    public int Timeout { get; set; } = 3600;

    /// <summary>How many importer restarts to sit out before calling the import failed.</summary>
    [Parameter]
    [ValidateRange(0, 1000)]
    public int MaxRestarts { get; set; } = 3;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var ns = Connect().NamespaceOr(string.IsNullOrEmpty(Namespace) ? null : Namespace);
        foreach (var name in Name)
        {
            try
            {
                targets.Add(QualifiedName.Split(name, ns));
            }
            catch (ArgumentException e)
            {
                WriteError(new ErrorRecord(e, "InvalidName", ErrorCategory.InvalidArgument, name));
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (targets.Count == 0)
        {
            return;
        }

        var waiter = new DataVolumeWaiter(new CdiApi(Connect()));
        var options = new DataVolumeWaitOptions(For, MaxRestarts, TimeSpan.FromSeconds(Timeout));
        var ids = targets.Distinct().Select((t, i) => (Key: $"{t.Namespace}/{t.Name}", Id: i + 2)).ToDictionary(p => p.Key, p => p.Id);
        IReadOnlyList<DataVolumeWaitState> results;
        try
        {
            results = RunWorker((channel, token) =>
            {
                var done = new HashSet<string>();
                channel.Progress(new ProgressRecord(1, "Wait-CdiDataVolume", $"0 of {ids.Count} DataVolumes done") { PercentComplete = 0 });
                return waiter.WaitAsync(
                    targets,
                    options,
                    state =>
                    {
                        channel.Progress(Bar(state, ids[state.Key]));
                        if (state.Done && done.Add(state.Key))
                        {
                            var parent = new ProgressRecord(1, "Wait-CdiDataVolume", $"{done.Count} of {ids.Count} DataVolumes done")
                            {
                                PercentComplete = done.Count * 100 / ids.Count,
                            };
                            channel.Progress(parent);
                        }
                    },
                    note =>
                    {
                        if (note.IsWarning)
                        {
                            channel.WriteWarning(note.Text);
                        }
                        else
                        {
                            channel.WriteVerbose(note.Text);
                        }
                    },
                    token);
            });
        }
        catch (ClusterException e)
        {
            WriteError(ErrorRecords.From(e, targets[0].Name));
            return;
        }
        finally
        {
            WriteProgress(new ProgressRecord(1, "Wait-CdiDataVolume", "Done") { RecordType = ProgressRecordType.Completed });
        }

        foreach (var state in results)
        {
            if (state.Assessment.Outcome == WaitOutcome.Reached && state.View is { } view)
            {
                WriteObject(new CdiDataVolume(view));
                continue;
            }

            var assessment = state.Assessment;
            var record = new ErrorRecord(
                new InvalidOperationException(assessment.Message ?? $"{state.Key} did not reach {For}."),
                assessment.ErrorId ?? "DataVolumeFailed",
                assessment.ErrorId switch
                {
                    "DataVolumeNotFound" => ErrorCategory.ObjectNotFound,
                    "WaitTimedOut" => ErrorCategory.OperationTimeout,
                    _ => ErrorCategory.InvalidResult,
                },
                state.Key);
            if (assessment.Hint is { } hint)
            {
                record.ErrorDetails = new ErrorDetails(assessment.Message) { RecommendedAction = hint };
            }

            WriteError(record);
        }
    }

    private static ProgressRecord Bar(DataVolumeWaitState state, int id)
    {
        var view = state.View;
        var text = view is null ? "not found"
            : $"{(string.IsNullOrEmpty(view.Phase) ? "waiting for CDI" : view.Phase)}{(string.IsNullOrEmpty(view.Progress) ? string.Empty : $" {view.Progress}")}{(view.RestartCount > 0 ? $", {view.RestartCount} restarts" : string.Empty)}";
        return new ProgressRecord(id, state.Key, text)
        {
            ParentActivityId = 1,
            PercentComplete = state.Done ? 100 : (int)Math.Clamp(view?.Percent ?? 0, 0, 100),
            RecordType = state.Done ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
    }
}
