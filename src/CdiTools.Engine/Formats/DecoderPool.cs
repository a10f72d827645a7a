using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace CdiTools.Engine.Formats;

/// <summary>
/// Decoders (zlib inflaters, zstd contexts) for the worker threads that decode a batch of
/// compressed clusters or grains on every core; kept from batch to batch, since making one costs
/// far more than decoding a cluster.
/// </summary>
internal sealed class DecoderPool<TDecoder>(Func<TDecoder> create) : IDisposable
    where TDecoder : IDisposable
{
    private readonly ConcurrentBag<TDecoder> idle = [];

    /// <summary>
    /// Runs <paramref name="decode"/> for each index below <paramref name="count"/> on every core,
    /// each worker with a decoder of its own; a refusal from any of them is thrown as itself.
    /// </summary>
    public void DecodeAll(int count, Action<TDecoder, int> decode, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
        try
        {
            Parallel.For(
                0,
                count,
                options,
                Rent,
                (i, _, decoder) =>
                {
                    decode(decoder, i);
                    return decoder;
                },
                idle.Add);
        }
        catch (AggregateException e) when (e.InnerExceptions.OfType<ImageException>().FirstOrDefault() is { } refusal)
        {
            ExceptionDispatchInfo.Throw(refusal);
        }
    }

    public void Dispose()
    {
        foreach (var decoder in idle)
        {
            decoder.Dispose();
        }
    }

    private TDecoder Rent() => idle.TryTake(out var decoder) ? decoder : create();
}
