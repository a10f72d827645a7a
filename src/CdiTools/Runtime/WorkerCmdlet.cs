using System.Collections.Concurrent;
using System.Management.Automation;

namespace CdiTools.Runtime;

/// <summary>
/// A cmdlet whose work runs on a worker thread: progress, verbose and warning messages the work
/// posts are written on the pipeline thread (the only one allowed to), Ctrl+C cancels the work's
/// token, and the cmdlet returns only once the work has ended, so nothing is left half done.
/// Work cancelled that way ends as a <see cref="PipelineStoppedException"/>, as PowerShell expects.
/// PowerShell disposes a cmdlet that is <see cref="IDisposable"/> once its pipeline ends, which frees the token source.
/// </summary>
public abstract class WorkerCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource stopping = new();

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken Cancellation => stopping.Token;

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        try
        {
            stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Ctrl+C after the pipeline ended and disposed the cmdlet: nothing is left to stop.
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the token source; a cmdlet that owns more overrides this and calls the base.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            stopping.Dispose();
        }
    }

    /// <summary>Runs <paramref name="work"/> on a worker thread and writes what it posts until it ends.</summary>
    protected T RunWorker<T>(Func<WorkerChannel, CancellationToken, Task<T>> work)
    {
        using var channel = new WorkerChannel();
        var task = Task.Run(async () =>
        {
            try
            {
                return await work(channel, Cancellation).ConfigureAwait(false);
            }
            finally
            {
                channel.Complete();
            }
        });

        try
        {
            foreach (var message in channel.Messages())
            {
                switch (message)
                {
                    case ProgressRecord progress:
                        WriteProgress(progress);
                        break;
                    case WorkerChannel.Verbose verbose:
                        WriteVerbose(verbose.Text);
                        break;
                    case WorkerChannel.Warning warning:
                        WriteWarning(warning.Text);
                        break;
                }
            }
        }
        catch
        {
            // The pipeline is stopping (Write* threw): stop the work and wait for it to clean up.
            stopping.Cancel();
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
            }

            throw;
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            // Ctrl+C: PowerShell's own way of saying the pipeline stopped, not an error.
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Messages from the worker thread to the pipeline thread.</summary>
    protected sealed class WorkerChannel : IDisposable
    {
        private readonly BlockingCollection<object> queue = new();

        public void Progress(ProgressRecord record) => Post(record);

        public void WriteVerbose(string text) => Post(new Verbose(text));

        public void WriteWarning(string text) => Post(new Warning(text));

        public void Dispose() => queue.Dispose();

        internal IEnumerable<object> Messages() => queue.GetConsumingEnumerable();

        internal void Complete() => queue.CompleteAdding();

        private void Post(object message)
        {
            if (!queue.IsAddingCompleted)
            {
                queue.TryAdd(message);
            }
        }

        internal sealed record Verbose(string Text);

        internal sealed record Warning(string Text);
    }
}
