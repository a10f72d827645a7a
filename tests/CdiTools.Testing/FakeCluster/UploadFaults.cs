namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Trouble a test makes a <see cref="FakeUploadProxy"/> have: dropped connections, a proxy that
/// answers 503, a slow volume, tokens that expire early and an upload pod that is late to be
/// ready. Every method is safe to call while uploads run; each takes effect from the next request.
/// </summary>
public sealed class UploadFaults
{
    private readonly object gate = new();
    private readonly HashSet<string> expiredTokens = new(StringComparer.Ordinal);
    private readonly List<NotReadyHold> holds = [];
    private (long AfterBytes, int Uploads)? reset;
    private (int Requests, string Body)? unavailable;
    private (TimeSpan Delay, int ChunkBytes)? slow;

    /// <summary>
    /// Resets the connection after <paramref name="afterBytes"/> bytes of the body, in each of the
    /// next <paramref name="uploads"/> uploads that get as far as sending one (a body shorter than
    /// that goes through, and still counts).
    /// </summary>
    public void ResetConnections(long afterBytes, int uploads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterBytes);
        lock (gate)
        {
            reset = uploads > 0 ? (afterBytes, uploads) : null;
        }
    }

    /// <summary>
    /// Answers the next <paramref name="requests"/> requests to the upload paths 503 before looking
    /// at them, with <paramref name="body"/> (empty by default, as CDI's upload server answers a
    /// second upload while one runs).
    /// </summary>
    public void RespondServiceUnavailable(int requests, string body = "")
    {
        lock (gate)
        {
            unavailable = requests > 0 ? (requests, body) : null;
        }
    }

    /// <summary>
    /// Makes the upload server read the body at most <paramref name="chunkBytes"/> at a time and
    /// wait <paramref name="delayPerChunk"/> after each read, as a slow volume would; a zero delay
    /// turns it off.
    /// </summary>
    public void SlowReads(TimeSpan delayPerChunk, int chunkBytes = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        lock (gate)
        {
            slow = delayPerChunk > TimeSpan.Zero ? (delayPerChunk, chunkBytes) : null;
        }
    }

    /// <summary>Makes <paramref name="token"/> fail validation from now on (401), as an expired one does.</summary>
    public void ExpireToken(string token)
    {
        lock (gate)
        {
            expiredTokens.Add(token);
        }
    }

    /// <summary>
    /// Keeps the upload pod of PVC <paramref name="ns"/>/<paramref name="name"/> (any PVC when both
    /// are null) not ready for <paramref name="duration"/> from the moment the proxy first finds it
    /// ready, so clients meet the proxy's wait and its 503.
    /// </summary>
    public void HoldNotReady(TimeSpan duration, string? ns = null, string? name = null)
    {
        lock (gate)
        {
            holds.Add(new NotReadyHold(ns, name, duration));
        }
    }

    /// <summary>Removes every fault, expired tokens included.</summary>
    public void Clear()
    {
        lock (gate)
        {
            reset = null;
            unavailable = null;
            slow = null;
            expiredTokens.Clear();
            holds.Clear();
        }
    }

    internal bool IsExpired(string token)
    {
        lock (gate)
        {
            return expiredTokens.Contains(token);
        }
    }

    /// <summary>The body of an injected 503 for this request, or null; counts the request.</summary>
    internal string? TakeUnavailable()
    {
        lock (gate)
        {
            if (unavailable is not { } u)
            {
                return null;
            }

            unavailable = u.Requests > 1 ? (u.Requests - 1, u.Body) : null;
            return u.Body;
        }
    }

    /// <summary>Where to reset this upload's connection, or null; counts the upload.</summary>
    internal long? TakeReset()
    {
        lock (gate)
        {
            if (reset is not { } r)
            {
                return null;
            }

            reset = r.Uploads > 1 ? (r.AfterBytes, r.Uploads - 1) : null;
            return r.AfterBytes;
        }
    }

    internal (TimeSpan Delay, int ChunkBytes)? Slow
    {
        get
        {
            lock (gate)
            {
                return slow;
            }
        }
    }

    /// <summary>Whether a hold keeps the pod of this PVC (by uid, so a new PVC of the same name starts afresh) not ready now.</summary>
    internal bool IsHeld(string ns, string name, string uid, DateTimeOffset now)
    {
        lock (gate)
        {
            var held = false;
            foreach (var hold in holds.Where(h => (h.Namespace ?? ns) == ns && (h.Name ?? name) == name))
            {
                var since = hold.FirstReady.TryGetValue(uid, out var seen) ? seen : hold.FirstReady[uid] = now;
                held |= now < since + hold.Duration;
            }

            return held;
        }
    }

    private sealed record NotReadyHold(string? Namespace, string? Name, TimeSpan Duration)
    {
        public Dictionary<string, DateTimeOffset> FirstReady { get; } = new(StringComparer.Ordinal);
    }
}
