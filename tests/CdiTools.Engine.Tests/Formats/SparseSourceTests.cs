using System.Globalization;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;
using CdiTools.Engine.Tests.Support;
using CdiTools.Testing;
using CdiTools.Testing.Images;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// Disks stored as they are in a sparse local file (raw, a fixed VHD, a flat VMDK extent) are read
/// only where the file holds data: the holes become zero runs without being read, and the disk is
/// still byte for byte qemu-img's.
/// </summary>
public sealed class SparseSourceTests : IDisposable
{
    private const long Size = 1L << 30;

    // Data at the start, an unaligned island, one not a multiple of a block, and the last block.
    private static readonly (long Offset, int Length)[] Islands =
        [(0, 65536), ((300L << 20) + 4096, 1 << 20), ((777L << 20) + 1536, 5000), (Size - 4096, 4096)];

    private readonly TemporaryDirectory work = new();

    public void Dispose() => work.Dispose();

    public static TheoryData<string> Layouts => ["raw", "fixed vhd", "flat vmdk"];

    [Theory]
    [MemberData(nameof(Layouts))]
    public void A_sparse_file_is_read_only_where_it_holds_data_and_converts_like_qemu_img(string layout)
    {
        Assert.True(OperatingSystem.IsLinux(), "the test needs lseek's SEEK_DATA, as the engine uses it on Linux");
        var raw = WriteSparseDisk("disk.raw");
        var (image, qemuFormat) = layout switch
        {
            "raw" => (raw, (string?)null),
            "fixed vhd" => (Convert(raw, "disk.vhd", "vpc", "subformat=fixed", "force_size=on"), "vpc"),
            _ => (Convert(raw, "disk.vmdk", "vmdk", "subformat=monolithicFlat"), null),
        };
        Assert.True(ExternalTool.AllocatedBytes(layout == "flat vmdk" ? work.File("disk-flat.vmdk") : image) < 16 << 20, "qemu-img should have written the image sparse");
        var qemu = Qemu.ConvertToRaw(image, work.Path, qemuFormat);

        var readBefore = ThreadBytesRead();
        var result = Run.FileToFile(image, work.File("out.raw"));
        var read = ThreadBytesRead() - readBefore;

        Assert.Equal(qemu.Sha256, result.Sha256);
        Assert.Equal(qemu.Length, result.VirtualSize);
        Assert.True(read < 8 << 20, $"{read:N0} bytes read for {Islands.Sum(i => i.Length):N0} bytes of data in a {Size:N0}-byte disk");
        Assert.True(result.BytesRead < 8 << 20, $"{result.BytesRead:N0} bytes counted as read");
        Assert.True(result.AllocatedBytes < 8 << 20, "the holes stay holes in the output");
    }

    [Fact]
    public void A_file_systems_answer_names_the_holes_and_data_of_a_sparse_file()
    {
        Assert.True(OperatingSystem.IsLinux(), "the test needs lseek's SEEK_DATA, as the engine uses it on Linux");
        using var source = new FileSource(WriteSparseDisk("disk.raw"));

        Assert.Equal(new DataRange(0, 65536), source.NextData(0));
        Assert.Equal(new DataRange((300L << 20) + 4096, (301L << 20) + 4096), source.NextData(65536));
        Assert.Equal(new DataRange((300L << 20) + 8192, (301L << 20) + 4096), source.NextData((300L << 20) + 8192));
        Assert.Equal(new DataRange(Size - 4096, Size), source.NextData((778L << 20) + 4096));
        Assert.Equal(new DataRange(Size, Size), source.NextData(Size));
    }

    [Fact]
    public void A_window_tells_the_data_of_the_file_it_looks_into_in_its_own_offsets()
    {
        using var file = new FileSource(WriteSparseDisk("disk.raw"));
        var window = new WindowSource(file, 200L << 20, 200L << 20);

        Assert.Equal(new DataRange((100L << 20) + 4096, (101L << 20) + 4096), window.NextData(0));
        Assert.Equal(new DataRange(200L << 20, 200L << 20), window.NextData((101L << 20) + 4096));
    }

    [Fact]
    public void Holes_a_source_reports_are_never_read_and_answers_that_make_no_sense_still_give_the_whole_disk()
    {
        var bytes = new byte[3 << 20];
        Random.Shared.NextBytes(bytes.AsSpan(1 << 20, 4096));
        Random.Shared.NextBytes(bytes.AsSpan(bytes.Length - 100));

        // Honest: two islands. Confused: ranges that start before the offset asked for or are empty.
        var honest = new ReportingSource(bytes, offset => offset <= 1 << 20 ? new((1 << 20) - 512, (1 << 20) + 4096) : offset < bytes.Length - 100 ? new(bytes.Length - 100, bytes.Length) : new(bytes.Length, bytes.Length));
        var confused = new ReportingSource(bytes, offset => offset % 3 == 0 ? new(Math.Max(0, offset - 100), offset + 7) : new(offset, offset));

        Assert.Equal(bytes, ConvertToBytes(honest));

        // Telling the format reads the first and the last 512 bytes (a fixed VHD's footer) wherever they are.
        var detection = new[] { new DataRange(0, 512), new DataRange(bytes.Length - 512, bytes.Length) };
        Assert.Equal(detection, honest.Reads.Take(2));
        honest.Reads.RemoveRange(0, 2);
        Assert.All(honest.Reads, r => Assert.True(r.Start >= (1 << 20) - 512 && (r.End <= (1 << 20) + 4096 || r.Start >= bytes.Length - 100), $"read {r} inside a hole"));
        Assert.Equal(4096 + 512 + 100, honest.Reads.Sum(r => r.Length));
        Assert.Equal(bytes, ConvertToBytes(confused));
    }

    private static byte[] ConvertToBytes(ReportingSource source)
    {
        using var output = new MemoryStream();
        using (var opened = ImageOpener.Open(LayerInput.FromRandom(source), new ImageOpenOptions()))
        using (var sink = new StreamSink(output, leaveOpen: true))
        {
            ImageConverter.Convert(opened, sink, computeSha256: false);
        }

        return output.ToArray();
    }

    // Bytes read by this thread's read calls, as the kernel counts them: the conversion reads on the calling thread.
    private static long ThreadBytesRead() =>
        long.Parse(File.ReadAllLines("/proc/thread-self/io").Single(line => line.StartsWith("rchar:", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture);

    private string WriteSparseDisk(string name)
    {
        var path = work.File(name);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(Size);
        var random = new Random(15);
        foreach (var (offset, length) in Islands)
        {
            var data = new byte[length];
            random.NextBytes(data);
            file.Position = offset;
            file.Write(data);
        }

        return path;
    }

    private string Convert(string raw, string name, string format, params string[] options)
    {
        var image = work.File(name);
        Qemu.ConvertFromRaw(raw, image, format, options);
        return image;
    }

    /// <summary>An in-memory source that answers NextData as told and records what is read.</summary>
    private sealed class ReportingSource(byte[] bytes, Func<long, DataRange> nextData) : IRandomAccessSource
    {
        public List<DataRange> Reads { get; } = [];

        public long Length => bytes.Length;

        public int ReadAt(long offset, Span<byte> buffer)
        {
            var count = (int)Math.Clamp(bytes.Length - offset, 0, buffer.Length);
            bytes.AsSpan((int)offset, count).CopyTo(buffer);
            if (count > 0)
            {
                Reads.Add(new(offset, offset + count));
            }

            return count;
        }

        public DataRange NextData(long offset) => offset >= Length ? new(Length, Length) : nextData(offset);

        public void Dispose()
        {
        }
    }
}
