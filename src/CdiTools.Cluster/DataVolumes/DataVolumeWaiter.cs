using System.Threading.Channels;
using CdiTools.Cluster.Models;
using CdiTools.Cluster.Scratch;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.DataVolumes;

/// <summary>What to wait for.</summary>
/// <param name="Phase">The phase that ends the wait; Succeeded unless another is named (UploadReady, WaitForFirstConsumer, ...).</param>
/// <param name="MaxRestarts">How many importer restarts with an error are retries; one more is a failure.</param>
/// <param name="Timeout">How long to wait in all.</param>
/// <param name="StopWhenWaitingForConsumer">End with a failure, rather than wait on, when the PVC waits for its first consumer (an upload has no consumer to wait for).</param>
public sealed record DataVolumeWaitOptions(string Phase, int MaxRestarts, TimeSpan Timeout, bool StopWhenWaitingForConsumer = false);

/// <summary>A DataVolume's state while waiting or at the end, with its assessment.</summary>
public sealed record DataVolumeWaitState(string Namespace, string Name, DataVolumeView? View, DataVolumeAssessment Assessment)
{
    public string Key => $"{Namespace}/{Name}";

    public bool Done => Assessment.Outcome is WaitOutcome.Reached or WaitOutcome.Failed;
}

/// <summary>Something to tell the person waiting: an event CDI recorded, a phase change.</summary>
public sealed record DataVolumeNote(string Key, string Text, bool IsWarning);

/// <summary>
/// Waits for DataVolumes by watching them (and the events recorded about them), not by polling,
/// until each reaches the phase waited for, fails, or time runs out. Watches that the server closes
/// are opened again.
/// </summary>
public sealed class DataVolumeWaiter(CdiApi api)
{
    private readonly ScratchStorageClassService scratch = new(api);
    private readonly ScratchVolumeService scratchVolumes = new(api);

    /// <summary>How often a DataVolume that waits for its importer is checked for a scratch PVC that holds it up; events do not always tell (a LimitRange refusal leaves none).</summary>
    public TimeSpan ScratchCheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The final state of every DataVolume in <paramref name="targets"/>; <paramref name="onChange"/>
    /// hears each change of state and <paramref name="onNote"/> events and phase changes, both on
    /// the calling task's continuation (never at once from two threads).
    /// </summary>
    public async Task<IReadOnlyList<DataVolumeWaitState>> WaitAsync(
        IReadOnlyList<(string Namespace, string Name)> targets,
        DataVolumeWaitOptions options,
        Action<DataVolumeWaitState> onChange,
        Action<DataVolumeNote> onNote,
        CancellationToken cancellationToken)
    {
        // The scratch class is only shown; waiting does not need it.
        var context = await scratch.ContextOrNullAsync(null, cancellationToken).ConfigureAwait(false);

        var states = new Dictionary<string, DataVolumeWaitState>(StringComparer.Ordinal);
        var scratchProblems = new Dictionary<string, ScratchFinding>(StringComparer.Ordinal);
        async Task CheckScratchAsync()
        {
            var waiting = states.Values.Where(s => !s.Done && s.View is not null).ToList();
            IReadOnlyList<ScratchFinding?> problems;
            try
            {
                problems = await scratchVolumes.ExplainWaitAsync([.. waiting.Select(s => s.View!)], cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterException)
            {
                // The check only explains; it never ends a wait.
                return;
            }

            for (var i = 0; i < waiting.Count; i++)
            {
                var (key, problem) = (waiting[i].Key, problems[i]);

                // Warned once per cause: a refusal repeated by CDI's retries is the same news.
                if (problem is null)
                {
                    scratchProblems.Remove(key);
                    continue;
                }

                if (!scratchProblems.TryGetValue(key, out var known) || known.Id != problem.Id)
                {
                    onNote(new DataVolumeNote(key, $"{key}: {problem.Id}: {problem.Message} {problem.Fix}", true));
                }

                scratchProblems[key] = problem;
            }
        }

        foreach (var (ns, name) in targets.Distinct())
        {
            var found = await api.GetDataVolumeAsync(name, ns, cancellationToken).ConfigureAwait(false);
            var state = found is null
                ? new DataVolumeWaitState(ns, name, null, new(WaitOutcome.Failed, "DataVolumeNotFound", $"There is no DataVolume {ns}/{name}."))
                : Assess(found, context, options);
            states[state.Key] = state;
            onChange(state);
            if (state.Assessment.Outcome == WaitOutcome.WaitingForConsumer)
            {
                onNote(ConsumerNote(state));
            }
        }

        await CheckScratchAsync().ConfigureAwait(false);

        if (states.Values.All(s => s.Done))
        {
            return [.. states.Values];
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        using var stopWatches = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var changes = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var namespaces = states.Values.Where(s => !s.Done).Select(s => s.Namespace).Distinct().ToList();
        var watches = namespaces.SelectMany(ns => new[]
        {
            Pump(ct => api.WatchDataVolumesAsync(ns, ct).Select(e => (object)e.DataVolume), changes.Writer, stopWatches.Token),
            Pump(ct => api.WatchEventsAsync(ns, ct).Select(e => (object)e), changes.Writer, stopWatches.Token),
        }).ToList();
        watches.Add(Tick(ScratchCheckInterval, changes.Writer, stopWatches.Token));
        var seenEvents = new HashSet<string>(StringComparer.Ordinal);
        var lastWarnings = new Dictionary<string, string>(StringComparer.Ordinal);

        try
        {
            await foreach (var change in changes.Reader.ReadAllAsync(deadline.Token).ConfigureAwait(false))
            {
                switch (change)
                {
                    case DataVolume dataVolume when states.TryGetValue($"{dataVolume.Metadata.NamespaceProperty}/{dataVolume.Metadata.Name}", out var before) && !before.Done:
                        var after = Assess(dataVolume, context, options, lastWarnings.GetValueOrDefault(before.Key));
                        if (after.View?.Phase != before.View?.Phase)
                        {
                            onNote(new DataVolumeNote(after.Key, $"{after.Key}: phase {Show(before.View?.Phase)} -> {Show(after.View?.Phase)}", false));
                        }

                        if (after.View?.RestartCount > (before.View?.RestartCount ?? 0))
                        {
                            onNote(new DataVolumeNote(after.Key, $"{after.Key}: the importer restarted ({after.View.RestartCount}).", true));
                        }

                        if (after.Assessment.Outcome == WaitOutcome.WaitingForConsumer && before.Assessment.Outcome != WaitOutcome.WaitingForConsumer)
                        {
                            onNote(ConsumerNote(after));
                        }

                        states[after.Key] = after;
                        onChange(after);
                        break;
                    case ScratchCheck:
                        await CheckScratchAsync().ConfigureAwait(false);
                        break;
                    case Corev1Event recorded when About(recorded, states) is { } key && seenEvents.Add($"{recorded.Metadata.Uid}:{recorded.Count}"):
                        onNote(new DataVolumeNote(key, $"{key}: {recorded.Reason}: {recorded.Message}", recorded.Type == "Warning"));
                        if (recorded.Type == "Warning" && recorded.Message is { Length: > 0 } warning)
                        {
                            lastWarnings[key] = warning;
                        }

                        break;
                }

                if (states.Values.All(s => s.Done))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The timeout: what is not done is marked below.
        }
        finally
        {
            await stopWatches.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(watches).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        foreach (var key in states.Keys.ToList())
        {
            // The event with the importer's whole message may come after the status that failed it.
            if (states[key] is { View: { } failedView, Assessment: { Outcome: WaitOutcome.Failed, ErrorId: "ImportFailing" or "ImportRestarting" or "DataVolumeFailed" } } failed)
            {
                try
                {
                    var events = await api.ListEventsAboutAsync(failed.Name, failed.Namespace, cancellationToken).ConfigureAwait(false);
                    // The DataVolume's own warning repeats the short form; the PVC's has the whole message.
                    var warnings = string.Join(" ", events.Where(e => e.Type == "Warning" && !string.IsNullOrEmpty(e.Message)).Select(e => e.Message).Distinct());
                    if (warnings.Length > 0)
                    {
                        states[key] = Assess(failedView.DataVolume, context, options, warnings);
                    }
                }
                catch (ClusterException)
                {
                    // Events only sharpen the hint.
                }
            }
        }

        foreach (var key in states.Keys.ToList())
        {
            var state = states[key];
            if (!state.Done)
            {
                var waiting = state.Assessment.Outcome == WaitOutcome.WaitingForConsumer
                    ? $" It is {state.View?.Phase}. {state.Assessment.Hint}"
                    : $" It is {Show(state.View?.Phase)}{(state.View?.Progress is { Length: > 0 } p ? $" at {p}" : string.Empty)}.";
                var held = scratchProblems.GetValueOrDefault(key);
                if (held is not null)
                {
                    waiting += $" Its scratch PVC holds it up ({held.Id}): {held.Message}";
                }

                states[key] = state with { Assessment = new(WaitOutcome.Failed, "WaitTimedOut", $"{key} did not reach {options.Phase} in {options.Timeout.TotalSeconds:0} s.{waiting}", held?.Fix) };
            }
        }

        return [.. states.Values];
    }

    private static DataVolumeWaitState Assess(DataVolume dataVolume, ScratchContext? context, DataVolumeWaitOptions options, string? lastWarning = null)
    {
        var assessment = DataVolumeHealth.Assess(dataVolume, options.Phase, options.MaxRestarts, lastWarning);
        if (options.StopWhenWaitingForConsumer && assessment.Outcome == WaitOutcome.WaitingForConsumer)
        {
            assessment = assessment with { Outcome = WaitOutcome.Failed };
        }

        return new(dataVolume.Metadata.NamespaceProperty, dataVolume.Metadata.Name, DataVolumeView.Of(dataVolume, context), assessment);
    }

    private static DataVolumeNote ConsumerNote(DataVolumeWaitState state) =>
        new(state.Key, $"{state.Key}: {state.Assessment.Message} {state.Assessment.Hint}", true);

    private static string Show(string? phase) => string.IsNullOrEmpty(phase) ? "(none)" : phase;

    // CDI records events on the DataVolume and on its PVC, which has the same name.
    private static string? About(Corev1Event recorded, Dictionary<string, DataVolumeWaitState> states)
    {
        var target = recorded.InvolvedObject;
        if (target?.Kind is not ("DataVolume" or "PersistentVolumeClaim"))
        {
            return null;
        }

        var key = $"{target.NamespaceProperty ?? recorded.Metadata.NamespaceProperty}/{target.Name}";
        return states.TryGetValue(key, out var state) && !state.Done ? key : null;
    }

    // Asks for a scratch check now and then, until stopped.
    private static async Task Tick(TimeSpan interval, ChannelWriter<object> writer, CancellationToken stop)
    {
        try
        {
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await writer.WriteAsync(ScratchCheck.Instance, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Copies a watch into the channel, opening it again when the server ends it, until stopped.
    private static async Task Pump(Func<CancellationToken, IAsyncEnumerable<object>> watch, ChannelWriter<object> writer, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var item in watch(stop).ConfigureAwait(false))
                {
                    await writer.WriteAsync(item, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or IOException or KubernetesException)
            {
                // A dropped or refused watch: wait a moment and open it again; the deadline ends it.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>The tick that asks for a scratch check.</summary>
    private sealed class ScratchCheck
    {
        public static readonly ScratchCheck Instance = new();
    }
}
