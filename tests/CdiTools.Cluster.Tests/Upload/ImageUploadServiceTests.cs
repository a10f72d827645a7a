using System.Text.Json.Nodes;
using System.Collections.Concurrent;
using CdiTools.Cluster.Connection;
using CdiTools.Cluster.Upload;
using CdiTools.Cluster.Tests.FakeCluster;
using CdiTools.Engine;
using CdiTools.Testing.FakeCluster;
using CdiTools.Testing.Images;

namespace CdiTools.Cluster.Tests.Upload;

/// <summary>
/// Uploads against the fake cluster and its upload proxy, which stores what it receives as CDI's
/// upload server would: the stored disk must be qemu-img's raw conversion, byte for byte.
/// </summary>
public sealed class ImageUploadServiceTests : FakeClusterHarness
{
    private readonly ConcurrentQueue<string> verbose = new();
    private readonly ConcurrentQueue<UploadProgress> progress = new();

    protected override FakeClusterOptions Options => new() { DataVolumeStepDelay = TimeSpan.FromMilliseconds(20) };

    private async Task<FakeUploadProxy> SeedAsync(FakeUploadProxyOptions? proxyOptions = null, string bindingMode = "Immediate")
    {
        Server.AddNamespace("vms");
        Server.AddStorageClass("standard", isDefault: true, volumeBindingMode: bindingMode);
        Server.InstallCdi();
        return await Server.StartUploadProxyAsync(proxyOptions ?? new FakeUploadProxyOptions { ReadyPollInterval = TimeSpan.FromMilliseconds(50), AsyncCompletionDelay = TimeSpan.FromMilliseconds(20) });
    }

    private ImageUploadService Service() => new(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File($"kc-{Guid.NewGuid():N}"), "fake", "vms")))))
    {
        Backoff = _ => TimeSpan.FromMilliseconds(50),
    };

    private Task<ImageUploadResult> UploadAsync(ImageUploadRequest request) => Service().UploadAsync(request, progress.Enqueue, verbose.Enqueue, default);

    private static ImageUploadRequest Request(string file, string name = "disk") => new() { Source = ImageLocation.File(file), Name = name, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A 24 MiB disk with data, zeros and holes, as qcow2 (compressed clusters), and qemu-img's raw of it.</summary>
    private (string Qcow2, string Sha256, long Size) Image()
    {
        var raw = Folder.File("disk.raw");
        DiskContent.WriteMixed(raw, 24L << 20);
        var qcow2 = Folder.File("disk.qcow2");
        ExternalTool.Run("qemu-img", "convert", "-c", "-O", "qcow2", raw, qcow2);
        var expected = Qemu.ConvertToRaw(qcow2, Folder.Path);
        return (qcow2, expected.Sha256, expected.Length);
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("qcow2.xz")]
    [InlineData("raw.gz")]
    public async Task An_image_lands_as_qemu_img_s_raw_in_a_DataVolume_sized_from_it(string kind)
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, size) = Image();
        var file = kind switch
        {
            "qcow2" => qcow2,
            "qcow2.xz" => Compress("xz", qcow2),
            _ => Compress("gzip", Folder.File("disk.raw")),
        };

        var result = await UploadAsync(Request(file));

        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.Equal(sha256, stored.Sha256);
        Assert.Equal(size, stored.StoredLength);
        Assert.True(stored.Async);
        Assert.Null(stored.ContentLength);
        Assert.True(stored.BytesReceived < size / 2, $"{stored.BytesReceived} bytes on the wire for a {size}-byte disk: it should go compressed.");
        Assert.Equal("Succeeded", result.DataVolume.Phase);
        Assert.True(result.Created);
        Assert.Equal((size + (1L << 20) - 1) >> 20 << 20, result.RequestedSize); // the disk: CDI adds the overhead to the claim
        Assert.Equal(result.RequestedSize, result.DataVolume.Size);
        Assert.Contains(progress, p => p.Stage == "Converting and uploading" && p.DiskBytesDone > 0);
    }

    [Fact]
    public async Task NoConvert_sends_the_file_as_it_is_with_its_length()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, _) = Image();

        var result = await UploadAsync(Request(qcow2) with { NoConvert = true, Size = 64L << 20 });

        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.Equal(new FileInfo(qcow2).Length, stored.ContentLength);
        Assert.Equal(sha256, stored.Sha256);
        Assert.Null(result.Conversion);
    }

    [Fact]
    public async Task NoConvert_sizes_the_DataVolume_from_the_disk_inside_a_compressed_image_not_from_the_file()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, size) = Image();
        var xz = Compress("xz", qcow2);

        var result = await UploadAsync(Request(xz) with { NoConvert = true });

        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.Equal(new FileInfo(xz).Length, stored.ContentLength);
        Assert.Equal(sha256, stored.Sha256);
        Assert.Equal(size, result.VirtualSize);
        Assert.Equal((size + (1L << 20) - 1) >> 20 << 20, result.RequestedSize); // the disk: CDI adds the overhead to the claim
        Assert.Equal(result.RequestedSize, result.DataVolume.Size);

        var tooSmall = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(xz, "small") with { NoConvert = true, Size = new FileInfo(xz).Length + (1 << 20) }));
        Assert.Equal("SizeTooSmallForImage", tooSmall.ErrorId);
        Assert.Null(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "small", "vms"));
    }

    [Fact]
    public async Task An_archive_goes_as_it_is_to_an_archive_DataVolume()
    {
        var proxy = await SeedAsync();
        var folder = Folder.File("tree");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "a.txt"), "hello");
        var tar = Folder.File("tree.tar");
        ExternalTool.Run("tar", "-cf", tar, "-C", folder, "a.txt");

        var result = await UploadAsync(Request(tar, "files") with { Archive = true, Size = 64L << 20 });

        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.True(stored.Archive);
        Assert.Equal(new FileInfo(tar).Length, stored.ContentLength);
        Assert.Equal(DiskContent.Sha256(tar), stored.Sha256);
        Assert.Equal("archive", (string?)Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "files", "vms")!["spec"]!["contentType"]);
        Assert.Null(result.Conversion);
        Assert.Equal("Succeeded", result.DataVolume.Phase);
    }

    [Fact]
    public async Task A_connection_reset_midway_is_retried_from_the_first_byte()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, _) = Image();
        proxy.Faults.ResetConnections(afterBytes: 64 * 1024, uploads: 2);

        var result = await UploadAsync(Request(qcow2));

        Assert.Equal(3, result.Transfer.Attempts);
        Assert.Equal(sha256, Assert.Single(proxy.Uploads, u => u.Succeeded).Sha256);
        Assert.Equal(2, verbose.Count(v => v.Contains("starting again from the first byte")));
    }

    [Fact]
    public async Task A_slow_proxy_gets_the_same_disk_and_progress_reports_the_bytes_as_they_go()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, size) = Image();
        proxy.Faults.SlowReads(TimeSpan.FromMilliseconds(2), chunkBytes: 16 * 1024);

        await UploadAsync(Request(qcow2));

        Assert.Equal(sha256, Assert.Single(proxy.Uploads, u => u.Succeeded).Sha256);
        var streaming = progress.Where(p => p.Stage == "Converting and uploading").ToList();
        Assert.True(streaming.Count > 2, $"{streaming.Count} progress reports while streaming");
        Assert.True(streaming.Zip(streaming.Skip(1)).All(pair => pair.Second.DiskBytesDone >= pair.First.DiskBytesDone && pair.Second.BytesSent >= pair.First.BytesSent));
        Assert.All(streaming, p => Assert.Equal(size, p.DiskBytes));
        Assert.Contains(streaming, p => p.BytesSent > 0);
    }

    [Fact]
    public async Task A_proxy_that_refuses_chunked_bodies_gets_one_with_its_length()
    {
        var proxy = await SeedAsync(new FakeUploadProxyOptions { RequireContentLength = true, ReadyPollInterval = TimeSpan.FromMilliseconds(50) });
        var (qcow2, sha256, _) = Image();

        var result = await UploadAsync(Request(qcow2));

        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.Equal(sha256, stored.Sha256);
        Assert.Equal(stored.BytesReceived, stored.ContentLength);
        Assert.Contains(proxy.Requests, r => r.Method == "POST" && r.Status == 411);
        Assert.Equal(1, result.Transfer.Attempts);
        Assert.Contains(verbose, v => v.Contains("converting once to measure it"));
    }

    [Fact]
    public async Task A_burst_of_503_is_waited_out()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, _) = Image();
        proxy.Faults.RespondServiceUnavailable(2);

        var result = await UploadAsync(Request(qcow2));

        Assert.Equal(sha256, Assert.Single(proxy.Uploads, u => u.Succeeded).Sha256);
        Assert.True(result.Transfer.Attempts >= 2);
    }

    [Fact]
    public async Task Faults_beyond_the_retries_allowed_fail_with_the_last_reason()
    {
        var proxy = await SeedAsync();
        var (qcow2, _, _) = Image();
        proxy.Faults.ResetConnections(afterBytes: 1024, uploads: 10);

        var error = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2) with { RetryCount = 1 }));

        Assert.Equal("UploadFailed", error.ErrorId);
        Assert.Contains("failed 2 times", error.Message);
        Assert.DoesNotContain(proxy.Uploads, u => u.Succeeded);
    }

    [Fact]
    public async Task A_refused_token_on_the_first_try_is_an_error_at_once()
    {
        var proxy = await SeedAsync(new FakeUploadProxyOptions { TokenLifetime = TimeSpan.Zero, TokenLeeway = TimeSpan.Zero, ReadyPollInterval = TimeSpan.FromMilliseconds(50) });
        var (qcow2, _, _) = Image();

        var error = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2)));

        Assert.Equal("UploadUnauthorized", error.ErrorId);
        Assert.Equal(1, proxy.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task An_upload_whose_scratch_PVC_a_LimitRange_refuses_creates_nothing_unless_forced_and_then_names_the_cause()
    {
        var proxy = await SeedAsync();
        var (qcow2, _, _) = Image();
        // A Block volume of the 24 MiB disk fits the cap; its scratch PVC, a Filesystem volume with CDI's overhead, does not.
        Server.PutObject(JsonNode.Parse("""{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"pvc-cap","namespace":"vms"},"spec":{"limits":[{"type":"PersistentVolumeClaim","max":{"storage":"24Mi"}}]}}""")!.AsObject());
        var block = Request(qcow2, "capped") with { VolumeMode = "Block", Size = 24L << 20 };

        var refused = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(block));

        Assert.Equal("ScratchLimitRangeExceeded", refused.ErrorId);
        Assert.Contains("nothing was created", refused.Message);
        Assert.Contains("-Force creates the DataVolume anyway", refused.Message);
        Assert.DoesNotContain(Server.Requests, r => r.Method == "POST" && r.Path.EndsWith("/datavolumes", StringComparison.Ordinal));

        // Forced, the findings are warned at once; CDI's controller meets the same refusal and the upload server never becomes ready.
        var warnings = new ConcurrentQueue<string>();
        var forced = new ImageUploadService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File("kc-forced"), "fake", "vms"))))) { Warning = warnings.Enqueue };
        var waited = await Assert.ThrowsAsync<ClusterException>(() => forced.UploadAsync(block with { Force = true, Timeout = TimeSpan.FromSeconds(4) }, progress.Enqueue, verbose.Enqueue, default));

        Assert.Contains(warnings, w => w.Contains("ScratchLimitRangeExceeded: LimitRange vms/pvc-cap", StringComparison.Ordinal));
        Assert.Equal("WaitTimedOut", waited.ErrorId);
        Assert.Contains("Its scratch PVC holds it up (ScratchLimitRangeExceeded)", waited.Message);
        Assert.Empty(proxy.Uploads);
        Assert.Null(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "capped", "vms"));
    }

    [Fact]
    public async Task A_token_that_expires_between_attempts_is_renewed()
    {
        var proxy = await SeedAsync(new FakeUploadProxyOptions { TokenLifetime = TimeSpan.FromSeconds(2), TokenLeeway = TimeSpan.Zero, ReadyPollInterval = TimeSpan.FromMilliseconds(50) });
        var (qcow2, sha256, _) = Image();
        proxy.Faults.ResetConnections(afterBytes: 1024, uploads: 1);
        var service = new ImageUploadService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File("kc-slow"), "fake", "vms")))))
        {
            Backoff = _ => TimeSpan.FromSeconds(3),
        };

        var result = await service.UploadAsync(Request(qcow2), progress.Enqueue, verbose.Enqueue, default);

        Assert.Equal(sha256, Assert.Single(proxy.Uploads, u => u.Succeeded).Sha256);
        Assert.Contains(proxy.Requests, r => r.Method == "POST" && r.Status == 401);
        Assert.True(Server.UploadTokens.Count(t => t.PvcName == "disk") >= 2);
        Assert.Contains(verbose, v => v.Contains("the token expired"));
        Assert.True(result.Transfer.Attempts >= 3);
    }

    [Fact]
    public async Task The_proxy_is_trusted_through_a_given_CA_file_and_refused_through_another()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, _) = Image();
        var ours = Folder.File("cluster-ca.pem");
        File.WriteAllText(ours, Server.CertificateAuthorityPem);
        var other = Folder.File("other-ca.pem");
        File.WriteAllText(other, DataVolumes.DataVolumeManifestTests.TestPem());
        var empty = Folder.File("empty.pem");
        File.WriteAllText(empty, "not a certificate");

        await UploadAsync(Request(qcow2, "trusted") with { UploadProxyCertificateFile = ours });
        var untrusted = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2, "untrusted") with { UploadProxyCertificateFile = other }));
        var invalid = await Assert.ThrowsAsync<ImageException>(() => UploadAsync(Request(qcow2, "invalid") with { UploadProxyCertificateFile = empty }));

        Assert.Equal(sha256, proxy.SucceededUpload("vms", "trusted")!.Sha256);
        Assert.Equal("UploadProxyUntrusted", untrusted.ErrorId);
        Assert.Contains("other-ca.pem", untrusted.Message);
        Assert.Equal("HttpCaBundleInvalid", invalid.ErrorId);
    }

    [Fact]
    public async Task The_synchronous_upload_is_used_where_the_proxy_has_no_async()
    {
        var proxy = await SeedAsync(new FakeUploadProxyOptions { OfferAsync = false, ReadyPollInterval = TimeSpan.FromMilliseconds(50) });
        var (qcow2, sha256, _) = Image();

        var result = await UploadAsync(Request(qcow2));

        Assert.False(result.Transfer.Async);
        var stored = Assert.Single(proxy.Uploads, u => u.Succeeded);
        Assert.False(stored.Async);
        Assert.Equal(sha256, stored.Sha256);
    }

    [Fact]
    public async Task A_class_that_waits_for_the_first_consumer_stops_the_upload_at_once_with_advice()
    {
        await SeedAsync(bindingMode: "WaitForFirstConsumer");
        var (qcow2, _, _) = Image();
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2)));

        Assert.Equal("WaitingForFirstConsumer", error.ErrorId);
        Assert.Contains("-BindImmediately", error.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));

        var bound = await UploadAsync(Request(qcow2, "bound") with { BindImmediately = true });
        Assert.Equal("Succeeded", bound.DataVolume.Phase);
    }

    [Fact]
    public async Task A_size_too_small_for_the_image_is_refused_before_anything_is_created()
    {
        await SeedAsync();
        var (qcow2, _, _) = Image();

        var error = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2) with { Size = 1L << 20 }));

        Assert.Equal("SizeTooSmallForImage", error.ErrorId);
        Assert.Null(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "disk", "vms"));
    }

    [Fact]
    public async Task NoCreate_uploads_into_an_existing_DataVolume_and_refuses_a_missing_one()
    {
        var proxy = await SeedAsync();
        var (qcow2, sha256, _) = Image();
        await new CdiTools.Cluster.DataVolumes.DataVolumeService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File("kc-dv"), "fake", "vms")))))
            .CreateAsync(new CdiTools.Cluster.DataVolumes.DataVolumeRequest { Name = "ready", Source = CdiTools.Cluster.DataVolumes.DataVolumeSourceKind.Upload, Size = 64L << 20 }, default);

        var result = await UploadAsync(Request(qcow2, "ready") with { NoCreate = true });
        var missing = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2, "ghost") with { NoCreate = true }));

        Assert.False(result.Created);
        Assert.Equal(sha256, proxy.SucceededUpload("vms", "ready")!.Sha256);
        Assert.Equal("DataVolumeNotFound", missing.ErrorId);
    }

    [Fact]
    public async Task With_a_size_given_a_raw_gz_is_not_decoded_an_extra_time_to_measure_it()
    {
        var proxy = await SeedAsync();
        var (_, sha256, size) = Image();
        var rawGz = Compress("gzip", Folder.File("disk.raw"));

        var result = await UploadAsync(Request(rawGz) with { Size = 64L << 20 });

        Assert.Equal(sha256, proxy.SucceededUpload("vms", "disk")!.Sha256);
        Assert.Contains(verbose, v => v.Contains("does not state its size"));
        Assert.DoesNotContain(progress, p => p.Stage == "Converting and uploading" && p.DiskBytes > 0);
        Assert.Equal(size, result.VirtualSize);
        Assert.Equal(64L << 20, result.RequestedSize);
    }

    [Fact]
    public async Task A_broken_image_fails_without_a_retry_and_stores_nothing()
    {
        var proxy = await SeedAsync();
        var (qcow2, _, _) = Image();
        var bytes = File.ReadAllBytes(qcow2);
        var cut = Folder.File("cut.qcow2");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);

        var error = await Assert.ThrowsAsync<ImageException>(() => UploadAsync(Request(cut) with { Size = 64L << 20 }));

        Assert.DoesNotContain(proxy.Uploads, u => u.Succeeded);
        Assert.True(proxy.Requests.Count(r => r.Method == "POST") <= 1);
        Assert.Contains("DataVolume vms/disk, created by this call, received no data and was deleted again.", error.Message);
        await EventuallyAsync(() => Task.FromResult(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "disk", "vms") is null));
    }

    [Fact]
    public async Task A_failed_upload_keeps_its_DataVolume_when_asked_and_says_how_to_go_on()
    {
        await SeedAsync();
        var (qcow2, sha256, _) = Image();
        var wrongSum = new string('0', 64);

        var error = await Assert.ThrowsAsync<ImageException>(() => UploadAsync(Request(qcow2) with { Size = 64L << 20, KeepFailedDataVolume = true, OpenOptions = new ImageOpenOptions { ExpectedChecksum = ImageChecksum.Parse(wrongSum, null) } }));

        Assert.Equal("ChecksumMismatch", error.ErrorId);
        Assert.Contains("is kept (-KeepFailedDataVolume): upload into it again with Import-CdiImage -NoCreate -Name disk -Namespace vms", error.Message);
        Assert.NotNull(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "disk", "vms"));
        var retried = await UploadAsync(Request(qcow2) with { NoCreate = true });
        Assert.Equal("Succeeded", retried.DataVolume.Phase);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_vmdk_whose_extent_lies_outside_its_folder_is_refused_before_a_DataVolume_exists(bool sized)
    {
        var proxy = await SeedAsync();
        Directory.CreateDirectory(Folder.File("images"));
        File.WriteAllBytes(Folder.File("secret.raw"), Enumerable.Repeat((byte)0x5A, 1 << 20).ToArray());
        var descriptor = Folder.File("images/disk.vmdk");
        File.WriteAllText(descriptor, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"../secret.raw\" 0\n");

        var error = await Assert.ThrowsAsync<ImageException>(() => UploadAsync(Request(descriptor) with { Size = sized ? 64L << 20 : null }));

        Assert.Equal("VmdkExtentOutsideFolder", error.ErrorId);
        Assert.Empty(Server.ListObjects("cdi.kubevirt.io/v1beta1", "DataVolume", "vms"));
        Assert.Empty(proxy.Requests);
    }

    [Fact]
    public async Task A_failure_after_CDI_has_the_data_leaves_the_DataVolume_and_says_how_to_look_at_it()
    {
        // CDI takes its time after the body: the wait for Succeeded runs out after delivery.
        await SeedAsync(new FakeUploadProxyOptions { ReadyPollInterval = TimeSpan.FromMilliseconds(50), AsyncCompletionDelay = TimeSpan.FromSeconds(20) });
        var (qcow2, _, _) = Image();

        var error = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2) with { Timeout = TimeSpan.FromSeconds(3) }));

        Assert.Equal(ClusterErrorKind.Timeout, error.Kind);
        Assert.Contains("CDI received the data, so DataVolume vms/disk is left as CDI has it: see Get-CdiDataVolume disk -Namespace vms", error.Message);
        Assert.NotNull(Server.GetObject("cdi.kubevirt.io/v1beta1", "DataVolume", "disk", "vms"));
    }

    [Fact]
    public async Task A_DataVolume_that_is_not_an_upload_or_whose_upload_is_done_is_refused_saying_why()
    {
        await SeedAsync();
        var (qcow2, _, _) = Image();
        var dataVolumes = new CdiTools.Cluster.DataVolumes.DataVolumeService(new CdiApi(ClusterConnections.Connect(new ClusterTarget(Server.WriteKubeconfig(Folder.File("kc-dv"), "fake", "vms")))));
        await dataVolumes.CreateAsync(new CdiTools.Cluster.DataVolumes.DataVolumeRequest { Name = "web", Namespace = "vms", Source = CdiTools.Cluster.DataVolumes.DataVolumeSourceKind.Http, Url = "https://images.example/disk.qcow2", Size = 1L << 30 }, default);
        await UploadAsync(Request(qcow2, "done"));

        var notUpload = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2, "web") with { NoCreate = true }));
        var done = await Assert.ThrowsAsync<ClusterException>(() => UploadAsync(Request(qcow2, "done") with { NoCreate = true }));

        Assert.Equal("NotAnUploadDataVolume", notUpload.ErrorId);
        Assert.Contains("imports from http https://images.example/disk.qcow2, not from an upload", notUpload.Message);
        Assert.Equal("UploadAlreadyDone", done.ErrorId);
        Assert.Contains("phase Succeeded", done.Message);
    }

    [Fact]
    public async Task An_upload_DataVolume_says_its_scratch_PVC_stays_empty_for_a_raw_body()
    {
        await SeedAsync();
        var (qcow2, _, _) = Image();

        var result = await UploadAsync(Request(qcow2));

        Assert.True(result.DataVolume.Scratch.RequiresScratch);
        Assert.Contains("stays empty when the body is a raw disk (as Import-CdiImage sends it)", result.DataVolume.Scratch.Reason);
    }

    private static string Compress(string tool, string file)
    {
        ExternalTool.Run(tool, "-k", "-f", file);
        return file + (tool == "xz" ? ".xz" : ".gz");
    }
}
