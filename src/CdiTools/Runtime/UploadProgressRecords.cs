using System.Diagnostics;
using System.Management.Automation;
using CdiTools.Cluster.Upload;
using CdiTools.Engine;

namespace CdiTools.Runtime;

/// <summary>
/// Progress records for one upload: the stage (creating, waiting for CDI, uploading), the disk
/// bytes done and the bytes on the wire, rate and time left; a few updates a second at most.
/// </summary>
internal sealed class UploadProgressRecords(int activityId, string activity, Action<ProgressRecord> post, int parentActivityId = -1)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly Stopwatch sinceLast = Stopwatch.StartNew();
    private string? lastStage;

    public void Report(UploadProgress progress)
    {
        // A new stage is always shown; within one, a few records a second are enough.
        if (progress.Stage == lastStage && sinceLast.Elapsed < Interval)
        {
            return;
        }

        lastStage = progress.Stage;
        sinceLast.Restart();
        var seconds = progress.Elapsed.TotalSeconds;
        var status = progress.DiskBytes > 0 && progress.DiskBytesDone > 0
            ? $"{progress.Stage}: {ByteSize.Format(progress.DiskBytesDone)} of {ByteSize.Format(progress.DiskBytes)}, {ByteSize.Format(progress.BytesSent)} sent at {ByteSize.FormatRate(seconds > 0 ? progress.BytesSent / seconds : 0)}"
            : progress.Stage;
        var record = new ProgressRecord(activityId, activity, status) { ParentActivityId = parentActivityId };
        if (progress.DiskBytes > 0)
        {
            var fraction = (double)progress.DiskBytesDone / progress.DiskBytes;
            record.PercentComplete = (int)Math.Clamp(fraction * 100, 0, 100);
            if (fraction is > 0 and < 1 && seconds > 1)
            {
                record.SecondsRemaining = (int)Math.Ceiling(seconds / fraction - seconds);
            }
        }

        post(record);
    }

    public void Complete() => post(new ProgressRecord(activityId, activity, "Done") { ParentActivityId = parentActivityId, RecordType = ProgressRecordType.Completed });
}
