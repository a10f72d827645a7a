namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// A simulated Kubernetes controller that looks over the whole store after a change: soon after,
/// on a pool thread, as the real ones work behind the API (one sweep pending at a time), or at
/// once on the caller's thread when asked. What a background sweep changes is announced like any
/// other write, since the other controllers watch it as they would a client's. Disabled or
/// paused, it does nothing.
/// </summary>
internal abstract class SweepingController(FakeApiServer server, bool enabled) : IDisposable
{
    private readonly object scheduleGate = new();
    private bool scheduled;
    private bool running = true;
    private bool disposed;

    public bool Running
    {
        get => Volatile.Read(ref running);
        set
        {
            Volatile.Write(ref running, value);
            Notify();
        }
    }

    protected FakeApiServer Server => server;

    /// <summary>The name faults are reported under.</summary>
    protected abstract string Name { get; }

    private bool Active => enabled && Running && !Volatile.Read(ref disposed);

    /// <summary>Called after every change; sweeps soon after on another thread.</summary>
    public void Notify()
    {
        if (!Active)
        {
            return;
        }

        lock (scheduleGate)
        {
            if (scheduled)
            {
                return;
            }

            scheduled = true;
        }

        _ = Task.Run(() =>
        {
            lock (scheduleGate)
            {
                scheduled = false;
            }

            try
            {
                if (SweepNow())
                {
                    server.OnChanged();
                }
            }
            catch (Exception e)
            {
                // Nobody awaits this task; a fault would otherwise only show as a test timing out.
                Console.Error.WriteLine($"fake {Name}: {e}");
            }
        });
    }

    /// <summary>Sweeps now on the caller's thread, unless disabled or paused; true when it changed anything.</summary>
    public bool SweepNow()
    {
        if (!Active)
        {
            return false;
        }

        lock (server.Store.Gate)
        {
            return SweepLocked();
        }
    }

    public void Dispose() => Volatile.Write(ref disposed, true);

    /// <summary>One look over the store, with its gate held; true when it changed anything.</summary>
    protected abstract bool SweepLocked();
}
