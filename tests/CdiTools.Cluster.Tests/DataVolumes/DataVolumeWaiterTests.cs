using System.Collections.Concurrent;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.DataVolumes;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Testing.FakeCluster;

namespace CdiTools.Cluster.Tests.DataVolumes;

/// <summary>Waiting for DataVolumes against the fake cluster's DataVolume controller: success, CDI's silent retries, checksum failures, consumers, timeouts.</summary>
public sealed class DataVolumeWaiterTests : FakeClusterHarness
{
    private readonly List<DataVolumeWaitState> changes = [];
    private readonly ConcurrentQueue<DataVolumeNote> notes = new();

    protected override FakeClusterOptions Options => new() { DataVolumeStepDelay = TimeSpan.FromMilliseconds(40) };

    private CdiApi Api() => new(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File($"kc-{Guid.NewGuid():N}"), "fake", "vms"))));

    private void Seed(string bindingMode = "Immediate")
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", isDefault: true, volumeBindingMode: bindingMode);
        Server.InstallCdi();
    }

    private async Task<DataVolumeRequest> CreateAsync(DataVolumeRequest request)
    {
        await new DataVolumeService(Api()).CreateAsync(request, default);
        return request;
    }

    private static DataVolumeRequest Http(string name = "disk") => new() { Name = name, Source = DataVolumeSourceKind.Http, Url = "https://images.example/disk.qcow2", Size = 1L << 30 };

    private Task<IReadOnlyList<DataVolumeWaitState>> WaitAsync(string phase = "Succeeded", int seconds = 20, int maxRestarts = 3, params string[] names) =>
        new DataVolumeWaiter(Api()).WaitAsync(
            [.. (names.Length == 0 ? ["disk"] : names).Select(n => ("vms", n))],
            new DataVolumeWaitOptions(phase, maxRestarts, TimeSpan.FromSeconds(seconds)),
            changes.Add,
            notes.Enqueue,
            default);

    [Fact]
    public async Task An_import_is_followed_through_its_phases_to_success()
    {
        Seed();
        await CreateAsync(Http());

        var result = Assert.Single(await WaitAsync());

        Assert.Equal(WaitOutcome.Reached, result.Assessment.Outcome);
        Assert.Equal("Succeeded", result.View!.Phase);
        Assert.Equal(100, result.View.Percent);
        var phases = changes.Select(c => c.View?.Phase).Where(p => !string.IsNullOrEmpty(p)).Distinct().ToList();
        Assert.Contains("ImportInProgress", phases);
        Assert.Equal("Succeeded", phases[^1]);
        Assert.Contains(changes, c => c.View?.Percent is > 0 and < 100);
        Assert.Contains(notes, n => n.Text.Contains("phase") && n.Text.Contains("-> Succeeded"));
        Assert.Contains(notes, n => n.Text.Contains("ImportInProgress: Import into disk in progress"));
    }

    [Fact]
    public async Task A_volume_too_small_fails_at_the_first_restart_with_the_size_the_image_needs()
    {
        Seed();
        Server.FailImport("vms", "disk", FakeImportFailure.TooSmall(10L << 30, 1020054732));
        await CreateAsync(Http());

        var result = Assert.Single(await WaitAsync());

        Assert.Equal(WaitOutcome.Failed, result.Assessment.Outcome);
        Assert.Equal("ImportFailing", result.Assessment.ErrorId);
        Assert.Contains("too small", result.Assessment.Message);
        Assert.Contains("ask for -Size 10Gi or more", result.Assessment.Hint);
        Assert.Equal("ImportInProgress", result.View!.Phase);
        Assert.Contains(notes, n => n.IsWarning && n.Text.Contains("restarted"));
    }

    [Fact]
    public async Task A_checksum_mismatch_is_named()
    {
        Seed();
        Server.FailImport("vms", "disk", FakeImportFailure.ChecksumMismatch("sha256", new string('a', 64), new string('b', 64)));
        await CreateAsync(Http() with { Checksum = "sha256:" + new string('a', 64) });

        var result = Assert.Single(await WaitAsync());

        Assert.Equal("ChecksumMismatch", result.Assessment.ErrorId);
        Assert.Contains("checksum mismatch", result.Assessment.Message);
    }

    [Fact]
    public async Task Restarts_that_end_in_success_are_sat_out()
    {
        Seed();
        Server.FailImport("vms", "disk", "Error", "Unable to connect to http data source: connection reset by peer", restarts: 2);
        await CreateAsync(Http());

        var result = Assert.Single(await WaitAsync(maxRestarts: 3));

        Assert.Equal(WaitOutcome.Reached, result.Assessment.Outcome);
        Assert.Equal(2, result.View!.RestartCount);
    }

    [Fact]
    public async Task An_error_that_keeps_coming_fails_after_the_restarts_allowed()
    {
        Seed();
        Server.FailImport("vms", "disk", "Error", "Unable to connect to http data source: 404 Not Found");
        await CreateAsync(Http());

        var result = Assert.Single(await WaitAsync(maxRestarts: 1));

        Assert.Equal("ImportRestarting", result.Assessment.ErrorId);
        Assert.Contains("404 Not Found", result.Assessment.Message);
    }

    [Fact]
    public async Task A_DataVolume_waiting_for_its_first_consumer_is_explained_and_times_out()
    {
        Seed(bindingMode: "WaitForFirstConsumer");
        await CreateAsync(Http());

        var result = Assert.Single(await WaitAsync(seconds: 2));

        Assert.Equal("WaitTimedOut", result.Assessment.ErrorId);
        Assert.Contains("-BindImmediately", result.Assessment.Message);
        Assert.Single(notes, n => n.IsWarning && n.Text.Contains("binds volumes only when a pod uses them"));
    }

    [Fact]
    public async Task Binding_immediately_imports_at_once()
    {
        Seed(bindingMode: "WaitForFirstConsumer");
        await CreateAsync(Http() with { BindImmediately = true });

        Assert.Equal(WaitOutcome.Reached, Assert.Single(await WaitAsync()).Assessment.Outcome);
    }

    [Fact]
    public async Task An_upload_is_waited_for_until_ready_and_then_until_done()
    {
        Seed();
        await CreateAsync(new DataVolumeRequest { Name = "disk", Source = DataVolumeSourceKind.Upload, Size = 1L << 30 });

        Assert.Equal(WaitOutcome.Reached, Assert.Single(await WaitAsync("UploadReady")).Assessment.Outcome);
        var finishing = WaitAsync();
        Server.CompleteUpload("vms", "disk");
        Assert.Equal(WaitOutcome.Reached, Assert.Single(await finishing).Assessment.Outcome);
    }

    [Fact]
    public async Task Several_are_waited_for_together_and_a_missing_one_is_reported()
    {
        Seed();
        await CreateAsync(Http("a"));
        await CreateAsync(new DataVolumeRequest { Name = "b", Source = DataVolumeSourceKind.Blank, Size = 1L << 30 });

        var results = await WaitAsync(names: ["a", "b", "ghost"]);

        Assert.Equal(["vms/a", "vms/b", "vms/ghost"], results.Select(r => r.Key));
        Assert.Equal([WaitOutcome.Reached, WaitOutcome.Reached, WaitOutcome.Failed], results.Select(r => r.Assessment.Outcome));
        Assert.Equal("DataVolumeNotFound", results[2].Assessment.ErrorId);
    }

    [Fact]
    public async Task It_watches_rather_than_polls()
    {
        Seed();
        await CreateAsync(Http());
        var before = Server.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/datavolumes/disk", StringComparison.Ordinal));

        await WaitAsync();

        var reads = Server.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/datavolumes/disk", StringComparison.Ordinal)) - before;
        Assert.Equal(1, reads);
        Assert.Contains(Server.Requests, r => r.Path.EndsWith("/namespaces/vms/datavolumes", StringComparison.Ordinal) && r.QueryValue("watch") == "true");
    }

    [Fact]
    public async Task Cancelling_stops_the_wait()
    {
        Seed(bindingMode: "WaitForFirstConsumer");
        await CreateAsync(Http());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new DataVolumeWaiter(Api()).WaitAsync(
            [("vms", "disk")], new DataVolumeWaitOptions("Succeeded", 3, TimeSpan.FromMinutes(5)), _ => { }, _ => { }, cancel.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }
}
