using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CdiTools.Engine.Sources.Http;
using CdiTools.Testing.Http;
using static CdiTools.Engine.Tests.Sources.Http.HttpTestData;

namespace CdiTools.Engine.Tests.Sources.Http;

public sealed class HttpResourceRangeTests
{
    [Fact]
    public async Task RangesOn_GivesRandomInput_WhoseScatteredReadsMatchTheFile()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image64);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), new HttpSourceOptions(), CancellationToken.None);

        Assert.True(resource.SupportsRanges);
        Assert.NotNull(resource.Input.Random);
        Assert.Null(resource.Input.Forward);
        Assert.Equal(Image64.LongLength, resource.Length);
        Assert.Equal(server.UriFor("disk.img"), resource.Uri);

        // About 1% of the image, in 16 KiB pieces spread over all of it, like format metadata.
        var random = new Random(7);
        var buffer = new byte[16 * 1024];
        var read = 0L;
        for (var i = 0; i < 48; i++)
        {
            var offset = random.NextInt64(Image64.Length - buffer.Length);
            Assert.Equal(buffer.Length, resource.Input.Random!.ReadAt(offset, buffer));
            Assert.True(buffer.AsSpan().SequenceEqual(Image64.AsSpan((int)offset, buffer.Length)), $"bytes at {offset} differ");
            read += buffer.Length;
        }

        Assert.True(read >= Image64.Length / 100);
        Assert.True(resource.BytesReceived < Image64.Length / 4, $"received {resource.BytesReceived:N0} bytes for {read:N0} read");
        Assert.Equal(server.RangesServed.Sum(r => r.To - r.From + 1), resource.BytesReceived);
        Assert.All(server.RangesServed, r => Assert.True(r.To - r.From + 1 <= HttpRangeSource.BlockSize * 2));
    }

    [Fact]
    public async Task RangesOn_ReadsAtTheEnd_AreShortThenEmpty()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        var source = resource.Input.Random!;

        var buffer = new byte[4096];
        Assert.Equal(100, source.ReadAt(Image4.Length - 100, buffer));
        Assert.True(buffer.AsSpan(0, 100).SequenceEqual(Image4.AsSpan(Image4.Length - 100)));
        Assert.Equal(0, source.ReadAt(Image4.Length, buffer));
        Assert.Equal(0, source.ReadAt(Image4.Length + 5000, buffer));
    }

    [Fact]
    public async Task RangesOn_SequentialFullRead_MatchesTheFile_InFewRequests()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image64);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), new HttpSourceOptions(), CancellationToken.None);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        for (long offset = 0; offset < Image64.Length;)
        {
            var read = resource.Input.Random!.ReadAt(offset, buffer);
            Assert.True(read > 0);
            hash.AppendData(buffer, 0, read);
            offset += read;
        }

        Assert.Equal(Sha256(Image64), Convert.ToHexString(hash.GetHashAndReset()));

        // 256 blocks; read-ahead grows to 8 MiB per request, and nothing is fetched twice.
        Assert.True(resource.RequestCount <= 16, $"{resource.RequestCount} requests");
        Assert.Equal(Image64.LongLength, resource.BytesReceived);
        Assert.Contains(server.RangesServed, r => r.To - r.From + 1 == HttpRangeSource.MaxBlocksPerRequest * (long)HttpRangeSource.BlockSize);
    }

    [Fact]
    public async Task RangesOn_ConcurrentReaders_EachGetTheirBytes()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image64);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), new HttpSourceOptions(), CancellationToken.None);
        var source = resource.Input.Random!;
        var quarter = Image64.Length / 4;

        Parallel.For(0, 8, worker =>
        {
            // Two workers per quarter, so some blocks are wanted by two threads at once.
            var start = (worker % 4) * quarter;
            var buffer = new byte[100_000];
            for (long offset = start; offset < start + quarter; offset += buffer.Length)
            {
                var read = source.ReadAt(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, start + quarter - offset)));
                Assert.True(buffer.AsSpan(0, read).SequenceEqual(Image64.AsSpan((int)offset, read)), $"bytes at {offset} differ");
            }
        });

        Assert.True(resource.BytesReceived <= Image64.Length + (Image64.Length / 4), $"received {resource.BytesReceived:N0} bytes");
    }

    [Fact]
    public async Task RangesOff_GivesForwardInput_WithTheWholeFile()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Off;
        var file = Path.GetTempFileName();
        File.WriteAllBytes(file, Image4);
        server.AddFile("disk.img", file);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.False(resource.SupportsRanges);
        Assert.Null(resource.Input.Random);
        Assert.Equal(Image4.LongLength, resource.Length);
        Assert.Equal(Image4.LongLength, resource.Input.Length);
        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.Forward!)));
        Assert.Equal(2, server.RequestCount);
        Assert.All(server.Requests, r => Assert.Null(r.Range));
        Assert.Equal(Image4.LongLength, resource.BytesReceived);
        File.Delete(file);
    }

    [Fact]
    public async Task ChunkedWithoutLength_GivesForwardInput_OfUnknownLength()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Chunked = true;
        server.AddFile("disk.img", Image4);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        // Ranges are advertised, but without a length there is nothing to read them against.
        Assert.False(resource.SupportsRanges);
        Assert.Null(resource.Length);
        Assert.Null(resource.Input.Length);
        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.Forward!)));
    }

    [Fact]
    public async Task ServerIgnoringRange_GivesForwardInput_ReusingTheProbeAnswer()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Ignore;
        server.AddFile("disk.img", Image4);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.False(resource.SupportsRanges);
        Assert.NotNull(resource.Input.Forward);
        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.Forward!)));
        Assert.Equal(2, server.RequestCount);
        Assert.NotNull(server.Requests[1].Range);
    }

    [Fact]
    public async Task ProbeWithWrongContentRange_GivesForwardInput()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.WrongContentRange;
        server.AddFile("disk.img", Image4);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.False(resource.SupportsRanges);
        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.Forward!)));
        Assert.Null(server.Requests[^1].Range);
    }

    [Fact]
    public async Task HeadRefused_FallsBackToARangeGet()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AllowHead = false;
        server.AddFile("disk.img", Image4);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.True(resource.SupportsRanges);
        Assert.Equal(Image4.LongLength, resource.Length);
        Assert.Equal(["HEAD", "GET"], server.Requests.Select(r => r.Method));
        var buffer = new byte[1000];
        resource.Input.Random!.ReadAt(3_000_000, buffer);
        Assert.True(buffer.AsSpan().SequenceEqual(Image4.AsSpan(3_000_000, 1000)));
    }

    [Fact]
    public async Task HeadRefused_AndNoRanges_ReadsTheProbeAnswerForward()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AllowHead = false;
        server.Ranges = TestRangeMode.Off;
        server.AddFile("disk.img", Image4);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.False(resource.SupportsRanges);
        Assert.Equal(Sha256(Image4), Sha256(ReadAll(resource.Input.Forward!)));
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task ServerErrorOnHead_FallsBackToGet()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        server.FailNextRequests(1, 500);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);

        Assert.True(resource.SupportsRanges);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task ConnectionClosedMidBody_IsHttpTruncated()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Off;
        server.AddFile("disk.img", Image4);
        server.CloseAfterBodyBytes(1024 * 1024);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        var error = Assert.Throws<ImageException>(() => ReadAll(resource.Input.Forward!));

        Assert.Equal("HttpTruncated", error.ErrorId);
        Assert.Contains($"of {Image4.Length:N0} bytes", error.Message, StringComparison.Ordinal);
        Assert.InRange(error.Offset!.Value, 1, 1024 * 1024);
    }

    [Fact]
    public async Task ChunkedConnectionClosedMidBody_IsHttpTruncated()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Chunked = true;
        server.AddFile("disk.img", Image4);
        server.CloseAfterBodyBytes(500_000);

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        var error = Assert.Throws<ImageException>(() => ReadAll(resource.Input.Forward!));

        Assert.Equal("HttpTruncated", error.ErrorId);
    }

    [Fact]
    public async Task ForwardBodyThatStalls_TimesOut()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.Ranges = TestRangeMode.Off;
        server.AddFile("disk.img", Image4);
        server.StallAfterBodyBytes(100_000, TimeSpan.FromSeconds(30));

        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);
        var started = DateTime.UtcNow;
        var error = Assert.Throws<ImageException>(() => ReadAll(resource.Input.Forward!));

        Assert.Equal("HttpTimeout", error.ErrorId);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task RangeReadThatStalls_IsRetriedThenTimesOut()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast with { Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);
        server.StallAfterBodyBytes(1000, TimeSpan.FromSeconds(30));
        var before = server.RequestCount;

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(2_000_000, new byte[10]));

        Assert.Equal("HttpTimeout", error.ErrorId);
        Assert.Equal(2, server.RequestCount - before);
    }

    [Fact]
    public async Task ServiceUnavailableTwice_ThenTheRangeReadSucceeds()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), new HttpSourceOptions(), CancellationToken.None);
        var before = server.RequestCount;
        server.FailNextRequests(2, 503);

        var buffer = new byte[5000];
        Assert.Equal(buffer.Length, resource.Input.Random!.ReadAt(2_500_000, buffer));

        Assert.True(buffer.AsSpan().SequenceEqual(Image4.AsSpan(2_500_000, buffer.Length)));
        Assert.Equal(3, server.RequestCount - before);
        Assert.Equal(3, resource.RequestCount - 2);
    }

    [Fact]
    public async Task ServiceUnavailableBeyondTheRetries_IsHttpError()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        server.FailNextRequests(10, 503);

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(2_500_000, new byte[10]));

        Assert.Equal("HttpError", error.ErrorId);
        Assert.Contains("HTTP 503 Service Unavailable", error.Message, StringComparison.Ordinal);
        Assert.Contains("2 attempts", error.Message, StringComparison.Ordinal);
        Assert.Equal(2_359_296, error.Offset);
    }

    [Fact]
    public async Task ClientErrorOnARangeRead_IsNotRetried()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), new HttpSourceOptions(), CancellationToken.None);
        server.FailNextRequests(10, 400);
        var before = server.RequestCount;

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(2_500_000, new byte[10]));

        Assert.Equal("HttpError", error.ErrorId);
        Assert.Contains("400", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount - before);
    }

    [Fact]
    public async Task RangeReadCutShortOnce_IsRetried()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        server.CloseAfterBodyBytes(1000, responses: 1);
        var before = server.RequestCount;

        var buffer = new byte[300_000];
        Assert.Equal(buffer.Length, resource.Input.Random!.ReadAt(1_000_000, buffer));

        Assert.True(buffer.AsSpan().SequenceEqual(Image4.AsSpan(1_000_000, buffer.Length)));
        Assert.Equal(2, server.RequestCount - before);
    }

    [Fact]
    public async Task RangeReadAlwaysCutShort_IsHttpTruncated()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        server.CloseAfterBodyBytes(1000);

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(1_000_000, new byte[10]));

        Assert.Equal("HttpTruncated", error.ErrorId);
        Assert.Contains("2 attempts", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TestRangeMode.WrongContentRange)]
    [InlineData(TestRangeMode.Ignore)]
    public async Task RangeAnsweredWrongAfterOpening_IsHttpRangeMismatch(TestRangeMode mode)
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        server.Ranges = mode;

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(3_000_000, new byte[10]));

        Assert.Equal("HttpRangeMismatch", error.ErrorId);
    }

    [Fact]
    public async Task FileThatShrankAfterOpening_IsHttpRangeMismatch()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        server.AddFile("disk.img", Image4[..1_000_000]);

        var error = Assert.Throws<ImageException>(() => resource.Input.Random!.ReadAt(3_000_000, new byte[10]));

        Assert.Equal("HttpRangeMismatch", error.ErrorId);
        Assert.Contains("416", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(410)]
    public async Task MissingFile_IsHttpNotFound_WithoutFallingBack(int status)
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        server.FailNextRequests(1, status);
        var uri = server.UriFor(status == 404 ? "nothing.img" : "disk.img");

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(uri, Fast, CancellationToken.None));

        Assert.Equal("HttpNotFound", error.ErrorId);
        Assert.Contains(uri.AbsolutePath, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Forbidden_IsHttpUnauthorized_AfterTryingGetToo()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        server.FailNextRequests(2, 403);

        var error = await Assert.ThrowsAsync<ImageException>(() => HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None));

        Assert.Equal("HttpUnauthorized", error.ErrorId);
        Assert.Contains("HTTP 403 Forbidden", error.Message, StringComparison.Ordinal);
        Assert.Equal(["HEAD", "GET"], server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task EmptyFileWithoutHead_IsAnEmptyForwardInput()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AllowHead = false;
        server.AddFile("empty.img", []);

        using var resource = await HttpResource.OpenAsync(server.UriFor("empty.img"), Fast, CancellationToken.None);

        Assert.False(resource.SupportsRanges);
        Assert.Empty(ReadAll(resource.Input.Forward!));
    }

    [Fact]
    public async Task NothingListening_IsHttpConnectFailed()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = await Assert.ThrowsAsync<ImageException>(() =>
            HttpResource.OpenAsync(new Uri($"http://127.0.0.1:{port}/disk.img"), Fast with { RetryCount = 0 }, CancellationToken.None));

        Assert.Equal("HttpConnectFailed", error.ErrorId);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelledOpen_ThrowsOperationCanceled()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, cancelled.Token));
    }

    [Fact]
    public async Task EmptyFile_IsAnEmptyForwardInput()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("empty.img", []);

        using var resource = await HttpResource.OpenAsync(server.UriFor("empty.img"), Fast, CancellationToken.None);

        Assert.Equal(0, resource.Length);
        Assert.Empty(ReadAll(resource.Input.Forward!));
    }

    [Fact]
    public async Task DisposingTheInput_EndsReads()
    {
        await using var server = await TestHttpServer.StartAsync();
        server.AddFile("disk.img", Image4);
        var resource = await HttpResource.OpenAsync(server.UriFor("disk.img"), Fast, CancellationToken.None);
        var source = resource.Input.Random!;

        resource.Dispose();

        Assert.Throws<ObjectDisposedException>(() => source.ReadAt(0, new byte[1]));
    }
}
