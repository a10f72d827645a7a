using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using CdiTools.Testing.FakeCluster;
using CdiTools.Testing.Images;
using k8s;

namespace CdiTools.Cluster.Tests.FakeCluster;

/// <summary>
/// The fake CDI upload proxy through a plain HttpClient that trusts the kubeconfig's CA, with
/// tokens from the real client's UploadTokenRequests: CDI's checks, answers and body handling.
/// </summary>
public sealed class FakeUploadProxyTests : FakeDataVolumeHarness, IDisposable
{
    private const long MiB = 1 << 20;

    private static readonly FakeUploadProxyOptions Quick = new()
    {
        ReadyTimeout = TimeSpan.FromMilliseconds(300),
        ReadyPollInterval = TimeSpan.FromMilliseconds(25),
        AsyncCompletionDelay = TimeSpan.FromMilliseconds(50),
    };

    private HttpClient? http;

    private FakeUploadProxy Proxy => Server.UploadProxy!;

    private HttpClient Http => http ??= NewHttpClient(Server.CertificateAuthorityPem);

    public void Dispose() => http?.Dispose();

    [Fact]
    public async Task The_proxy_is_announced_in_CDIConfig_as_host_and_port_and_trusted_through_the_kubeconfig_CA()
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.InstallCdi();
        Assert.Equal("cdi-uploadproxy.cdi.svc", (string?)(await GetCdiConfigAsync())["status"]!["uploadProxyURL"]);

        var proxy = await Server.StartUploadProxyAsync(Quick);

        var url = (string?)(await GetCdiConfigAsync())["status"]!["uploadProxyURL"];
        Assert.Equal($"127.0.0.1:{proxy.BaseUri.Port}", url);
        Assert.Equal(url, proxy.Address);
        using var health = await Http.GetAsync(new Uri($"https://{url}/healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("OK", await health.Content.ReadAsStringAsync());

        // Unknown paths get Go's ServeMux answer.
        using var unknown = await Http.GetAsync(new Uri(proxy.BaseUri, "v1beta1/upload-archive"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("404 page not found\n", await unknown.Content.ReadAsStringAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => Server.StartUploadProxyAsync());
    }

    [Fact]
    public async Task CDI_installed_after_the_proxy_started_reports_the_proxy()
    {
        var proxy = await Server.StartUploadProxyAsync(Quick);
        Server.InstallCdi();
        Assert.Equal(proxy.Address, (string?)(await GetCdiConfigAsync())["status"]!["uploadProxyURL"]);
    }

    [Fact]
    public async Task The_Authorization_header_is_checked_as_CDI_checks_it()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");

        Assert.Equal((400, ""), await PostAsync(null, [1, 2, 3]));
        Assert.Equal((400, ""), await PostAsync("Basic " + token, [1, 2, 3], raw: true));
        Assert.Equal((400, ""), await PostAsync("Bearer a=b", [1, 2, 3], raw: true));

        // A token shaped like CDI's but not issued here fails the signature check.
        var forged = string.Join('.', token.Split('.')[..2]) + ".c2lnbmF0dXJl";
        Assert.Equal((401, ""), await PostAsync(forged, [1, 2, 3]));

        Proxy.Faults.ExpireToken(token);
        Assert.Equal((401, ""), await PostAsync(token, [1, 2, 3]));

        // The header's scheme is matched without regard to case.
        var fresh = await TokenAsync("disk");
        Assert.Equal(200, (await PostAsync("bearer " + fresh, new byte[4096], raw: true)).Status);
        Assert.DoesNotContain(Proxy.Uploads, u => u.Status != 200);
    }

    [Fact]
    public async Task A_token_for_a_PVC_that_does_not_exist_or_is_no_upload_target_gets_CDIs_503()
    {
        await StartAsync(Quick);
        var token = await TokenAsync("nothing-here");
        // The proxy HTML-escapes its errors (Go's html.EscapeString), apostrophes included.
        Assert.Equal((503, "rejecting Upload Request for PVC nothing-here that doesn&#39;t exist"), await PostAsync(token, new byte[4096]));

        Server.PutObject(Pvc("plain", new JsonObject { ["cdi.kubevirt.io/storage.pod.ready"] = "true" }));
        Assert.Equal((503, "PVC plain is not an upload target"), await PostAsync(await TokenAsync("plain"), new byte[4096]));

        Server.PutObject(Pvc("weird", new JsonObject
        {
            ["cdi.kubevirt.io/storage.upload.target"] = "",
            ["cdi.kubevirt.io/storage.pod.ready"] = "true",
            ["cdi.kubevirt.io/storage.contentType"] = "<iso>",
        }));
        Assert.Equal(
            (503, "rejecting upload request for PVC weird - upload content-type &lt;iso&gt; is invalid"),
            await PostAsync(await TokenAsync("weird"), new byte[4096]));
        Assert.Empty(Proxy.Uploads);
    }

    [Fact]
    public async Task Tokens_expire_after_their_lifetime_plus_the_leeway()
    {
        await StartAsync(Quick with { TokenLifetime = TimeSpan.FromMilliseconds(1000), TokenLeeway = TimeSpan.FromMilliseconds(200) });
        var token = await ReadyUploadAsync("disk");
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "/v1beta1/upload", token)).Status);

        await Task.Delay(1500);
        Assert.Equal((401, ""), await PostAsync(token, new byte[4096]));
        Assert.Equal(200, (await PostAsync(await TokenAsync("disk"), new byte[4096])).Status);
    }

    [Fact]
    public async Task The_proxy_waits_for_the_upload_pod_and_answers_503_when_it_stays_unready()
    {
        await StartAsync(Quick);
        Server.PutObject(Pvc("slow", new JsonObject
        {
            ["cdi.kubevirt.io/storage.upload.target"] = "",
            ["cdi.kubevirt.io/storage.pod.phase"] = "Pending",
            ["cdi.kubevirt.io/storage.pod.ready"] = "false",
        }));
        var token = await TokenAsync("slow");

        var clock = Stopwatch.StartNew();
        Assert.Equal((503, "context deadline exceeded"), await PostAsync(token, new byte[4096]));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(280), TimeSpan.FromSeconds(5));

        // HEAD waits the same way, so clients probing for upload-async meet the 503 too.
        Assert.Equal(503, (await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", token)).Status);
        Assert.Empty(Proxy.Uploads);
    }

    [Fact]
    public async Task An_upload_DataVolume_is_not_ready_while_its_pod_is_scheduled_and_ready_at_UploadReady()
    {
        // Steps slow enough to act between them even on a busy machine.
        Server.DataVolumeStepDelay = TimeSpan.FromMilliseconds(1500);
        await StartAsync(Quick with { ReadyTimeout = TimeSpan.FromMilliseconds(100) });
        await CreateAsync(DataVolume("disk"));
        await WaitForPhaseAsync("disk", "UploadScheduled");
        var token = await TokenAsync("disk");
        var pvc = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("disk", "default");
        Assert.Equal("false", pvc.Metadata.Annotations["cdi.kubevirt.io/storage.pod.ready"]);
        Assert.Equal((503, "context deadline exceeded"), await PostAsync(token, new byte[4096]));

        await WaitForPhaseAsync("disk", "UploadReady");
        Assert.Equal(200, (await PostAsync(token, new byte[4096])).Status);
        await WaitForPhaseAsync("disk", "Succeeded");
        pvc = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("disk", "default");
        Assert.Equal("false", pvc.Metadata.Annotations["cdi.kubevirt.io/storage.pod.ready"]);
        Assert.Equal("Succeeded", pvc.Metadata.Annotations["cdi.kubevirt.io/storage.pod.phase"]);
    }

    [Fact]
    public async Task A_pod_held_unready_makes_the_proxy_wait_then_503_then_lets_the_upload_through()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Proxy.Faults.HoldNotReady(TimeSpan.FromMilliseconds(600), "default", "disk");

        Assert.Equal((503, "context deadline exceeded"), await PostAsync(token, new byte[4096]));
        var clock = Stopwatch.StartNew();
        await Task.Delay(400);
        Assert.Equal(200, (await PostAsync(token, new byte[4096])).Status);
        // Timers may fire a little before the stopwatch says the delay is over.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(390), $"{clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task HEAD_on_upload_async_answers_200_and_on_upload_404_when_async_is_offered()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");

        Assert.Equal((200, ""), await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", token));
        Assert.Equal((200, ""), await SendAsync(HttpMethod.Head, "/v1beta1/upload-form-async", token));
        Assert.Equal((404, ""), await SendAsync(HttpMethod.Head, "/v1beta1/upload", token));

        // The proxy checks the token before anything reaches the upload server.
        Assert.Equal((400, ""), await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", null));
        var first = Proxy.Requests[0];
        Assert.Equal(("HEAD", "/v1beta1/upload-async", token, (int?)200), (first.Method, first.Path, first.Token, first.Status));
    }

    [Fact]
    public async Task An_older_CDI_without_upload_async_answers_404_there_and_uploads_synchronously()
    {
        await StartAsync(Quick with { OfferAsync = false });
        var token = await ReadyUploadAsync("disk");

        var head = await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", token);
        Assert.Equal(404, head.Status);
        Assert.Equal((404, "404 page not found\n"), await PostAsync(token, new byte[4096], path: "/v1beta1/upload-async"));

        Assert.Equal(200, (await PostAsync(token, new byte[4096])).Status);
        var upload = Assert.Single(Proxy.Uploads);
        Assert.False(upload.Async);
        await WaitForPhaseAsync("disk", "Succeeded");
    }

    [Theory]
    [InlineData("raw", false, "/v1beta1/upload")]
    [InlineData("raw", true, "/v1beta1/upload-async")]
    [InlineData("gz", false, "/v1beta1/upload-async")]
    [InlineData("xz", true, "/v1beta1/upload")]
    [InlineData("zst", false, "/v1beta1/upload")]
    [InlineData("qcow2", false, "/v1beta1/upload")]
    [InlineData("qcow2", true, "/v1beta1/upload-async")]
    [InlineData("qcow2.gz", false, "/v1beta1/upload-async")]
    [InlineData("qcow2.xz", true, "/v1alpha1/upload")]
    public async Task Bodies_are_stored_as_the_raw_disk_qemu_img_makes_of_them(string kind, bool chunked, string path)
    {
        await StartAsync(Quick);
        var raw = Folder.File("disk.raw");
        DiskContent.WriteMixed(raw, 8 * MiB + 4096);
        var image = MakeImage(raw, kind);
        var (expected, _, length) = kind.StartsWith("qcow2", StringComparison.Ordinal)
            ? Qemu.ConvertToRaw(Folder.File("disk.qcow2"), Folder.Path)
            : (DiskContent.Sha256(raw), 0L, new FileInfo(raw).Length);
        var token = await ReadyUploadAsync("disk");

        await using (var file = File.OpenRead(image))
        {
            Assert.Equal((200, ""), await PostStreamAsync(token, file, path, chunked));
        }

        var upload = Assert.Single(Proxy.Uploads);
        Assert.True(upload.Succeeded);
        Assert.Equal(path.EndsWith("-async", StringComparison.Ordinal), upload.Async);
        Assert.Equal(("default", "disk", path), (upload.Namespace, upload.PvcName, upload.Path));
        Assert.Equal("application/octet-stream", upload.ContentType);
        Assert.Equal(chunked ? null : new FileInfo(image).Length, upload.ContentLength);
        Assert.Equal(new FileInfo(image).Length, upload.BytesReceived);
        Assert.Equal(LayersOf(kind), upload.Layers);
        Assert.Equal(kind.StartsWith("qcow2", StringComparison.Ordinal) ? "qcow2" : "raw", upload.Format);
        Assert.Equal(length, upload.VirtualSize);
        Assert.Equal(expected, upload.Sha256);
        Assert.Equal(length, upload.StoredLength);
        Assert.Equal(expected, DiskContent.Sha256(upload.StoredPath!));
        Assert.Same(upload, Proxy.SucceededUpload("default", "disk"));
        await WaitForPhaseAsync("disk", "Succeeded");
    }

    [Fact]
    public async Task A_vmdk_is_converted_as_CDI_converts_it_with_qemu_img()
    {
        await StartAsync(Quick);
        var raw = Folder.File("disk.raw");
        var expected = DiskContent.WriteMixed(raw, 4 * MiB);
        var vmdk = Folder.File("disk.vmdk");
        ExternalTool.Run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", raw, vmdk);
        var token = await ReadyUploadAsync("disk");

        Assert.Equal((200, ""), await PostAsync(token, await File.ReadAllBytesAsync(Gzip(vmdk))));
        var upload = Assert.Single(Proxy.Uploads);
        Assert.Equal(["gz", "vmdk"], upload.Layers);
        Assert.Equal("vmdk", upload.Format);
        Assert.Equal(expected, upload.Sha256);
        Assert.DoesNotContain(Directory.GetFiles(Proxy.StorageDirectory), f => f.EndsWith(".scratch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_form_upload_takes_the_file_part()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        var disk = new byte[64 * 1024];
        new Random(7).NextBytes(disk);

        using var form = new MultipartFormDataContent
        {
            { new StringContent("ignored"), "comment" },
            { new ByteArrayContent(disk), "file", "disk.img" },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Proxy.BaseUri, "v1beta1/upload-form")) { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var upload = Assert.Single(Proxy.Uploads);
        Assert.True(upload.Form);
        Assert.StartsWith("multipart/form-data", upload.ContentType, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(disk)), upload.Sha256);
        await WaitForPhaseAsync("disk", "Succeeded");
    }

    [Fact]
    public async Task An_archive_PVC_takes_a_tar_synchronously_even_on_upload_async()
    {
        await StartAsync(Quick);
        var dv = DataVolume("files");
        dv["spec"]!["contentType"] = "archive";
        var token = await ReadyUploadAsync(dv);

        // The archive handler is synchronous: HEAD there is no POST, so clients see no async.
        Assert.Equal(404, (await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", token)).Status);

        Directory.CreateDirectory(Folder.File("tree"));
        File.WriteAllText(Folder.File("tree/a.txt"), "hello");

        // Random bytes keep the .tar.gz longer than the 512 bytes CDI reads to recognise it.
        var noise = new byte[16 * 1024];
        new Random(5).NextBytes(noise);
        File.WriteAllBytes(Folder.File("tree/noise.bin"), noise);
        var tar = Folder.File("tree.tar");
        System.Formats.Tar.TarFile.CreateFromDirectory(Folder.File("tree"), tar, includeBaseDirectory: false);
        var gz = Gzip(tar);
        var answer = await PostAsync(token, await File.ReadAllBytesAsync(gz), path: "/v1beta1/upload-async");
        Assert.True(answer == (200, ""), answer.Body);

        var upload = Assert.Single(Proxy.Uploads);
        Assert.True(upload.Archive);
        Assert.False(upload.Async);
        Assert.Equal(["gz", "tar"], upload.Layers);
        Assert.Equal(DiskContent.Sha256(tar), upload.Sha256);
        await WaitForPhaseAsync("files", "Succeeded");

        // Not a tar at all: untarring fails (zeros would pass, being an empty archive's end).
        var broken = DataVolume("broken");
        broken["spec"]!["contentType"] = "archive";
        new Random(9).NextBytes(noise);
        var (status, message) = await PostAsync(await ReadyUploadAsync(broken), noise);
        Assert.Equal(500, status);
        Assert.StartsWith("Saving stream failed: Unable to transfer source data to target directory: unable to untar files from endpoint: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_raw_image_larger_than_the_volume_is_refused_with_CDIs_400_after_the_whole_body()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync(WithSize(DataVolume("small"), "4Mi"));
        var available = await RequestedBytesAsync("small");

        var body = new byte[8 * MiB];
        body[^1] = 1;
        Assert.Equal(
            (400, "Saving stream failed: effective image size is larger than the reported available storage: Unable to resize disk image to requested size: "
                + $"virtual image size {8 * MiB} is larger than the reported available storage {available}. A larger PVC is required"),
            await PostAsync(token, body));
        var upload = Assert.Single(Proxy.Uploads);
        Assert.Equal(8 * MiB, upload.BytesReceived);
        Assert.Null(upload.StoredPath);

        // Asynchronous uploads are validated before the answer, without the resize phase's words.
        Assert.Equal(
            (400, "Saving stream failed: effective image size is larger than the reported available storage: "
                + $"virtual image size {8 * MiB} is larger than the reported available storage {available}. A larger PVC is required"),
            await PostAsync(token, body, path: "/v1beta1/upload-async"));
        Assert.Equal("UploadReady", Phase(await GetAsync("small")));
    }

    [Fact]
    public async Task A_qcow2_whose_virtual_size_exceeds_the_volume_is_refused_in_the_convert_phase()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync(WithSize(DataVolume("small"), "16Mi"));
        var available = await RequestedBytesAsync("small");
        var image = Folder.File("big.qcow2");
        ExternalTool.Run("qemu-img", "create", "-f", "qcow2", image, "64M");

        Assert.Equal(
            (400, "Saving stream failed: effective image size is larger than the reported available storage: Unable to convert source data to target format: "
                + $"virtual image size {64 * MiB} is larger than the reported available storage {available}. A larger PVC is required"),
            await PostAsync(token, await File.ReadAllBytesAsync(image)));
        Assert.Equal(new FileInfo(image).Length, Assert.Single(Proxy.Uploads).BytesReceived);
    }

    [Fact]
    public async Task A_Block_volume_refuses_the_first_write_past_its_end()
    {
        await StartAsync(Quick);
        var dv = WithSize(DataVolume("block"), "4Mi");
        dv["spec"]!["storage"]!["volumeMode"] = "Block";
        dv["spec"]!["storage"]!["accessModes"] = new JsonArray("ReadWriteOnce");
        var token = await ReadyUploadAsync(dv);

        var (status, message) = await PostAsync(token, Enumerable.Repeat((byte)7, (int)(6 * MiB)).ToArray());
        Assert.Equal(400, status);
        Assert.Equal("Saving stream failed: effective image size is larger than the reported available storage: "
            + "Unable to transfer source data to target file: unable to write to file: write /dev/cdi-block-volume: no space left on device", message);
    }

    [Fact]
    public async Task A_body_shorter_than_a_header_cannot_be_recognised()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Assert.Equal(
            (500, "Saving stream failed: Unable to obtain information about data source: could not process image header: unexpected EOF"),
            await PostAsync(token, new byte[100]));
        Assert.Equal(
            (500, "Saving stream failed: Unable to obtain information about data source: could not process image header: EOF"),
            await PostAsync(token, []));

        // A broken gzip fails while the data is transferred.
        var gz = Gzip(WriteBytes("disk.raw", new byte[64 * 1024]));
        var bytes = await File.ReadAllBytesAsync(gz);
        bytes[^6] ^= 0xFF;
        var (status, message) = await PostAsync(token, bytes);
        Assert.Equal(500, status);
        Assert.StartsWith("Saving stream failed: Unable to transfer source data to target file: failed to pull image: ", message, StringComparison.Ordinal);
        Assert.Equal("UploadReady", Phase(await GetAsync("disk")));
    }

    [Fact]
    public async Task After_a_synchronous_success_the_upload_server_answers_409_until_the_pod_has_finished_then_the_proxy_503()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Server.ControllersRunning = false;

        Assert.Equal((200, ""), await PostAsync(token, new byte[4096]));
        Assert.Equal((409, ""), await PostAsync(token, new byte[4096]));

        Server.ControllersRunning = true;
        await WaitForPhaseAsync("disk", "Succeeded");
        Assert.Equal((503, "rejecting Upload Request for PVC disk that already finished uploading"), await PostAsync(token, new byte[4096]));
        Assert.Single(Proxy.Uploads, u => u.Succeeded);
    }

    [Fact]
    public async Task An_asynchronous_upload_is_answered_at_once_and_completes_shortly_after()
    {
        await StartAsync(Quick with { AsyncCompletionDelay = TimeSpan.FromSeconds(2) });
        var token = await ReadyUploadAsync("disk");

        Assert.Equal((200, ""), await PostAsync(token, new byte[4096], path: "/v1beta1/upload-async"));
        Assert.Equal("UploadReady", Phase(await GetAsync("disk")));

        // Still processing: the upload server takes no second upload.
        Assert.Equal((503, ""), await PostAsync(token, new byte[4096], path: "/v1beta1/upload-async"));
        await WaitForPhaseAsync("disk", "Succeeded");
    }

    [Fact]
    public async Task A_second_upload_while_one_runs_gets_the_upload_servers_503()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Proxy.Faults.SlowReads(TimeSpan.FromMilliseconds(50), 8 * 1024);

        // 32 slow reads of 50 ms: the first upload is still being read when the second comes.
        var first = PostAsync(token, new byte[256 * 1024]);
        await Task.Delay(300);
        Assert.False(first.IsCompleted);
        Assert.Equal((503, ""), await PostAsync(await TokenAsync("disk"), new byte[4096]));
        Assert.Equal((200, ""), await first);
    }

    [Fact]
    public async Task A_connection_reset_mid_body_is_recorded_and_the_next_upload_goes_through()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Proxy.Faults.ResetConnections(afterBytes: MiB, uploads: 1);
        var body = new byte[4 * MiB];
        new Random(3).NextBytes(body);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => PostAsync(token, body));
        await EventuallyAsync(() => Task.FromResult(Proxy.Uploads.Count == 1));
        var reset = Assert.Single(Proxy.Uploads);
        Assert.True(reset.Reset);
        Assert.Null(reset.Status);
        Assert.Equal(MiB, reset.BytesReceived);
        Assert.Null(reset.StoredPath);

        Assert.Equal((200, ""), await PostAsync(token, body));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), Proxy.Uploads[^1].Sha256);
    }

    [Fact]
    public async Task Injected_503s_come_before_any_check_and_run_out()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Proxy.Faults.RespondServiceUnavailable(2, "try later");

        Assert.Equal(503, (await SendAsync(HttpMethod.Head, "/v1beta1/upload-async", null)).Status);
        Assert.Equal((503, "try later"), await PostAsync(token, new byte[4096]));
        Assert.Equal((200, ""), await PostAsync(token, new byte[4096]));
    }

    [Fact]
    public async Task Slow_reads_slow_the_upload_down()
    {
        await StartAsync(Quick);
        var token = await ReadyUploadAsync("disk");
        Proxy.Faults.SlowReads(TimeSpan.FromMilliseconds(40), 64 * 1024);

        var clock = Stopwatch.StartNew();
        Assert.Equal((200, ""), await PostAsync(token, new byte[MiB]));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(600), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_scenario_starts_the_proxy_with_its_options_and_faults()
    {
        var scenario = FakeClusterScenario.Parse("""
            {
              "storageClasses": [{ "name": "standard", "default": true }],
              "cdi": {},
              "uploadProxy": {
                "async": false, "readyTimeoutMilliseconds": 200, "readyPollMilliseconds": 20, "tokenLifetimeMilliseconds": 60000,
                "serviceUnavailable": { "requests": 1 },
                "resetConnections": { "afterBytes": 10, "uploads": 2 },
                "slowReads": { "delayMilliseconds": 1 },
                "notReady": [{ "namespace": "default", "name": "disk", "milliseconds": 10 }]
              }
            }
            """);
        await scenario.ApplyToAsync(Server);

        var proxy = Assert.IsType<FakeUploadProxy>(Server.UploadProxy);
        Assert.False(proxy.Options.OfferAsync);
        Assert.Equal(TimeSpan.FromMilliseconds(200), proxy.Options.ReadyTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), proxy.Options.TokenLifetime);
        Assert.Equal(proxy.Address, (string?)(await GetCdiConfigAsync())["status"]!["uploadProxyURL"]);

        var token = await ReadyUploadAsync("disk");
        Assert.Equal((503, ""), await PostAsync(token, new byte[4096]));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => PostAsync(token, new byte[4096]));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => PostAsync(token, new byte[4096]));
        Assert.Equal((200, ""), await PostAsync(token, new byte[4096]));
    }

    private static HttpClient NewHttpClient(string caPem)
    {
        var ca = X509Certificate2.CreateFromPem(caPem);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    private static JsonObject WithSize(JsonObject dataVolume, string size)
    {
        dataVolume["spec"]!["storage"]!["resources"]!["requests"]!["storage"] = size;
        return dataVolume;
    }

    private static JsonObject Pvc(string name, JsonObject annotations) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "PersistentVolumeClaim",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["annotations"] = annotations },
        ["spec"] = new JsonObject
        {
            ["accessModes"] = new JsonArray("ReadWriteOnce"),
            ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = "1Gi" } },
        },
    };

    private static IReadOnlyList<string> LayersOf(string kind) => kind switch
    {
        "raw" => [],
        "qcow2.gz" => ["gz", "qcow2"],
        "qcow2.xz" => ["xz", "qcow2"],
        _ => [kind],
    };

    private static string Gzip(string path)
    {
        var target = path + ".gz";
        using var input = File.OpenRead(path);
        using var output = File.Create(target);
        using var gzip = new GZipStream(output, CompressionLevel.Fastest);
        input.CopyTo(gzip);
        return target;
    }

    private async Task StartAsync(FakeUploadProxyOptions options)
    {
        Server.AddStorageClass("standard", "csi.example.com", isDefault: true);
        Server.InstallCdi();
        await Server.StartUploadProxyAsync(options);
    }

    private string WriteBytes(string name, byte[] content)
    {
        var path = Folder.File(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>The image of kind <paramref name="kind"/> made from <paramref name="raw"/> with the tools users make them with.</summary>
    private string MakeImage(string raw, string kind)
    {
        string Qcow2()
        {
            var image = Folder.File("disk.qcow2");
            ExternalTool.Run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, image);
            return image;
        }

        string Xz(string path)
        {
            ExternalTool.Run("xz", "-k", "-T1", "-1", path);
            return path + ".xz";
        }

        return kind switch
        {
            "raw" => raw,
            "gz" => Gzip(raw),
            "xz" => Xz(raw),
            "zst" => ZstdOf(raw),
            "qcow2" => Qcow2(),
            "qcow2.gz" => Gzip(Qcow2()),
            "qcow2.xz" => Xz(Qcow2()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        static string ZstdOf(string path)
        {
            ExternalTool.Run("zstd", "-q", "-1", path, "-o", path + ".zst");
            return path + ".zst";
        }
    }

    private Task<string> ReadyUploadAsync(string name) => ReadyUploadAsync(DataVolume(name));

    private async Task<string> ReadyUploadAsync(JsonObject dataVolume)
    {
        var name = (string)dataVolume["metadata"]!["name"]!;
        await CreateAsync(dataVolume);
        await WaitForPhaseAsync(name, "UploadReady");
        return await TokenAsync(name);
    }

    private async Task<long> RequestedBytesAsync(string pvc)
    {
        var claim = await Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(pvc, "default");
        return (long)claim.Spec.Resources.Requests["storage"].ToDecimal();
    }

    private async Task<string> TokenAsync(string pvc)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = "upload.cdi.kubevirt.io/v1beta1",
            ["kind"] = "UploadTokenRequest",
            ["metadata"] = new JsonObject { ["name"] = "token-for-" + pvc, ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["pvcName"] = pvc },
        };
        var answer = Node(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, "upload.cdi.kubevirt.io", V1Beta1, "default", "uploadtokenrequests"));
        return (string)answer["status"]!["token"]!;
    }

    /// <summary>Posts <paramref name="body"/> with <c>Authorization: Bearer token</c> (or <paramref name="token"/> as the whole header when <paramref name="raw"/>).</summary>
    private async Task<(int Status, string Body)> PostAsync(string? token, byte[] body, string path = "/v1beta1/upload", bool raw = false)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await SendAsync(HttpMethod.Post, path, token, content, raw);
    }

    private async Task<(int Status, string Body)> PostStreamAsync(string token, Stream body, string path, bool chunked)
    {
        using var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Proxy.BaseUri, path.TrimStart('/'))) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        request.Headers.TransferEncodingChunked = chunked;
        if (!chunked)
        {
            content.Headers.ContentLength = body.Length;
        }

        using var response = await Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(int Status, string Body)> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null, bool raw = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(Proxy.BaseUri, path.TrimStart('/'))) { Content = content };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", raw ? token : "Bearer " + token);
        }

        using var response = await Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
