using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Models;
using k8s.Models;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Reading a DataVolume's status as someone waiting on it: done, failed, failing while CDI retries, or waiting for a consumer.</summary>
public sealed class DataVolumeHealthTests
{
    private static DataVolume Status(string phase, int restarts = 0, string? reason = null, string? message = null, string runningStatus = "False", string size = "1Gi") => new()
    {
        Metadata = new V1ObjectMeta { Name = "disk", NamespaceProperty = "vms" },
        Spec = new DataVolumeSpec
        {
            Source = new DataVolumeSource { Http = new HttpDataSource { Url = "https://x/disk.qcow2" } },
            Storage = new DataVolumeStorage { Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(size) } } },
        },
        Status = new DataVolumeStatus
        {
            Phase = phase,
            RestartCount = restarts,
            Conditions = reason is null && message is null ? null : [new DataVolumeCondition { Type = "Running", Status = runningStatus, Reason = reason, Message = message }],
        },
    };

    [Fact]
    public void The_phase_waited_for_ends_the_wait() =>
        Assert.Equal(WaitOutcome.Reached, DataVolumeHealth.Assess(Status("UploadReady"), "UploadReady", 3).Outcome);

    [Fact]
    public void An_import_on_its_way_is_in_progress_even_after_a_restart_or_two()
    {
        Assert.Equal(WaitOutcome.InProgress, DataVolumeHealth.Assess(Status("ImportInProgress", reason: "Pod is running", runningStatus: "True"), "Succeeded", 3).Outcome);
        Assert.Equal(WaitOutcome.InProgress, DataVolumeHealth.Assess(Status("ImportInProgress", 2, "Error", "Unable to connect to http data source: dial tcp: i/o timeout"), "Succeeded", 3).Outcome);
    }

    [Fact]
    public void A_volume_too_small_fails_at_once_with_the_size_the_image_needs()
    {
        var assessment = DataVolumeHealth.Assess(
            Status("ImportInProgress", 1, "Error", "Unable to process data: virtual image size 10737418240 is larger than the reported available storage 1020054732. A larger PVC is required."),
            "Succeeded",
            3);

        Assert.Equal(WaitOutcome.Failed, assessment.Outcome);
        Assert.Equal("ImportFailing", assessment.ErrorId);
        Assert.Contains("A larger PVC is required", assessment.Message);
        Assert.Contains("ask for -Size 10Gi or more (it asks for 1Gi)", assessment.Hint);
        Assert.Contains("CDI adds the filesystem overhead", assessment.Hint);
    }

    [Fact]
    public void With_the_pvc_API_the_hint_gives_the_claim_s_size_with_the_overhead()
    {
        var dataVolume = Status("ImportInProgress", 1, "Error", "Unable to process data: virtual image size 10737418240 is larger than the reported available storage 1020054732. A larger PVC is required.");
        dataVolume.Spec!.Pvc = dataVolume.Spec.Storage;
        dataVolume.Spec.Storage = null;

        var assessment = DataVolumeHealth.Assess(dataVolume, "Succeeded", 3);

        Assert.Contains("a Filesystem volume for it needs -Size 10855Mi", assessment.Hint);
        Assert.Contains("Block volume -Size 10Gi", assessment.Hint);
        Assert.Contains("it asks for 1Gi", assessment.Hint);
    }

    [Fact]
    public void CDI_s_simplified_too_small_message_points_to_the_image_s_PVC_size()
    {
        var assessment = DataVolumeHealth.Assess(Status("ImportInProgress", 1, "Error", "DataVolume too small to contain image"), "Succeeded", 3);

        Assert.Equal("ImportFailing", assessment.ErrorId);
        Assert.Contains("Get-CdiImageInfo", assessment.Hint);
    }

    [Fact]
    public void A_checksum_mismatch_is_marked_Failed_by_CDI_and_named()
    {
        var assessment = DataVolumeHealth.Assess(Status("Failed", 0, "ChecksumError", "checksum mismatch: expected abc, got def"), "Succeeded", 3);

        Assert.Equal(WaitOutcome.Failed, assessment.Outcome);
        Assert.Equal("ChecksumMismatch", assessment.ErrorId);
        Assert.Contains("checksum mismatch", assessment.Message);
        Assert.Contains("checksum belongs to another image", assessment.Hint);
    }

    [Fact]
    public void Too_many_restarts_fail_with_CDI_s_message()
    {
        var assessment = DataVolumeHealth.Assess(Status("ImportInProgress", 4, "Error", "Unable to connect to http data source: 404 Not Found"), "Succeeded", 3);

        Assert.Equal("ImportRestarting", assessment.ErrorId);
        Assert.Contains("restarted 4 times", assessment.Message);
        Assert.Contains("404 Not Found", assessment.Message);
    }

    [Fact]
    public void A_restart_for_scratch_space_is_not_reported_as_the_error()
    {
        var assessment = DataVolumeHealth.Assess(Status("ImportInProgress", 4, "Scratch space required", "Scratch space required"), "Succeeded", 3);

        Assert.Equal("ImportRestarting", assessment.ErrorId);
        Assert.DoesNotContain("Scratch space required", assessment.Message);
        Assert.Contains("kubectl describe pod", assessment.Hint);
    }

    [Theory]
    [InlineData("WaitForFirstConsumer")]
    [InlineData("PendingPopulation")]
    public void Waiting_for_a_consumer_says_what_to_do(string phase)
    {
        var assessment = DataVolumeHealth.Assess(Status(phase), "Succeeded", 3);

        Assert.Equal(WaitOutcome.WaitingForConsumer, assessment.Outcome);
        Assert.Contains("-BindImmediately", assessment.Hint);
        Assert.Equal(WaitOutcome.Reached, DataVolumeHealth.Assess(Status(phase), phase, 3).Outcome);
    }

    [Fact]
    public void Succeeding_past_the_phase_waited_for_is_reported()
    {
        Assert.Equal("PhasePassed", DataVolumeHealth.Assess(Status("Succeeded"), "UploadReady", 3).ErrorId);
    }
}
