using System.Diagnostics;
using System.Management.Automation;
using CdiTools.Engine;

namespace CdiTools.Runtime;

/// <summary>
/// Turns the engine's progress into progress records for one item: a few updates a second at
/// most (runbooks store every record), bytes, rate and time left, and a final Completed record.
/// </summary>
internal sealed class ConversionProgressRecords(int activityId, string activity, Action<ProgressRecord> post)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly Stopwatch sinceLast = Stopwatch.StartNew();
    private bool started;

    public void Report(ConversionProgress progress)
    {
        if (started && sinceLast.Elapsed < Interval)
        {
            return;
        }

        started = true;
        sinceLast.Restart();
        var total = progress.VirtualSize is { } size ? $" of {ByteSize.Format(size)}" : string.Empty;
        var record = new ProgressRecord(activityId, activity, $"{ByteSize.Format(progress.OutputBytes)}{total} at {ByteSize.FormatRate(progress.BytesPerSecond)}");
        if (progress.Fraction is { } fraction)
        {
            record.PercentComplete = (int)Math.Clamp(fraction * 100, 0, 100);
        }

        if (progress.Remaining is { } remaining)
        {
            record.SecondsRemaining = (int)Math.Ceiling(remaining.TotalSeconds);
        }

        post(record);
    }

    public void Complete() => post(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
}
