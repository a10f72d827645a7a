using CdiTools.Engine.Formats;
using CdiTools.Engine.Sinks;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Tests.Formats;

/// <summary>
/// The one reader every format readable at random goes through: which requests it makes of the
/// file for a map's zero runs, plain and compressed clusters, and what the disk comes out as.
/// </summary>
public sealed class RandomExtentReaderTests
{
    private const int Cluster = 4096;

    [Fact]
    public void Zero_runs_are_never_read_and_plain_clusters_next_to_each_other_in_the_file_are_read_in_one_request()
    {
        var file = new RecordingSource(Pattern(0x20000));
        var map = new ScriptedMap(
            Cluster,
            7L * Cluster,
            DiskExtent.Zeros(2),
            DiskExtent.Zeros(1),
            DiskExtent.Data(0x10000, Cluster),
            DiskExtent.Data(0x11000, Cluster),
            DiskExtent.Data(0x13000, Cluster),
            DiskExtent.Zeros(5));

        var disk = Convert(file, map);

        Assert.Equal([(0x10000L, 2 * Cluster), (0x13000L, Cluster)], file.Reads);
        Assert.Equal(7 * Cluster, disk.Length);
        Assert.All(disk[..(3 * Cluster)], b => Assert.Equal(0, b));
        Assert.Equal(file.Bytes.AsSpan(0x10000, 2 * Cluster), disk.AsSpan(3 * Cluster, 2 * Cluster));
        Assert.Equal(file.Bytes.AsSpan(0x13000, Cluster), disk.AsSpan(5 * Cluster, Cluster));
        Assert.All(disk[(6 * Cluster)..], b => Assert.Equal(0, b));

        // A zero run that says it goes past the disk's end stops there, and each cluster is described once.
        Assert.Equal([0L, 2, 3, 4, 5, 6], map.Described);
    }

    [Fact]
    public void Compressed_clusters_written_in_order_are_read_together_and_others_one_request_each()
    {
        var bytes = new byte[0x10000];
        bytes[0x1000] = 1;
        bytes[0x1010] = 2;
        bytes[0x1020] = 3;
        bytes[0x8000] = 4;
        bytes[0x2000] = 5;
        var inOrder = new RecordingSource(bytes);
        var map = new ScriptedMap(
            Cluster,
            3L * Cluster,
            DiskExtent.Compressed(0x1000, 16),
            DiskExtent.Compressed(0x1010, 16),
            DiskExtent.Compressed(0x1020, 16));

        var disk = Convert(inOrder, map);

        Assert.Equal([(0x1000L, 0x30)], inOrder.Reads);
        Assert.Equal(Filled((1, Cluster), (2, Cluster), (3, Cluster)), disk);

        // Scattered (one far ahead, one behind the first): each is read on its own, and the last
        // cluster, cut short by the disk's end, gives only its part.
        var scattered = new RecordingSource(bytes);
        disk = Convert(scattered, new ScriptedMap(Cluster, (2L * Cluster) + 100, DiskExtent.Compressed(0x8000, 16), DiskExtent.Compressed(0x2000, 16), DiskExtent.Compressed(0x1000, 16)));

        Assert.Equal([(0x8000L, 16), (0x2000L, 16), (0x1000L, 16)], scattered.Reads);
        Assert.Equal(Filled((4, Cluster), (5, Cluster), (1, 100)), disk);
    }

    [Fact]
    public void A_cluster_larger_than_the_output_buffer_is_read_and_patched_a_buffer_at_a_time_and_what_the_file_lacks_is_zeros()
    {
        var clusterSize = RawOutput.BufferSize * 2;
        var stored = RawOutput.BufferSize + 1000;
        var file = new RecordingSource(Pattern(stored));
        var map = new ScriptedMap(clusterSize, clusterSize, DiskExtent.Data(0, stored) with { Patched = true });

        var disk = Convert(file, map);

        Assert.Equal([(0L, RawOutput.BufferSize), ((long)RawOutput.BufferSize, 1000)], file.Reads);
        Assert.Equal([0L, RawOutput.BufferSize], map.Patches);
        Assert.Equal(file.Bytes, disk[..stored]);
        Assert.All(disk[stored..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_file_that_ends_inside_a_data_cluster_is_the_formats_truncation_error_naming_the_file()
    {
        var file = new RecordingSource(Pattern(Cluster + 100));
        var map = new ScriptedMap(Cluster, 2L * Cluster, DiskExtent.Data(0, Cluster), DiskExtent.Data(Cluster, Cluster));

        var error = Assert.Throws<ImageException>(() => Convert(file, map));

        Assert.Equal(ImageErrors.VmdkOffsetBeyondEndOfFile.Id, error.ErrorId);
        Assert.StartsWith("The extent 'x.vmdk' ends inside a grain at 0x0: 4196 of 8192 bytes.", error.Message, StringComparison.Ordinal);
        Assert.Equal(Cluster + 100, error.Offset);
    }

    private static byte[] Convert(IRandomAccessSource file, IExtentMap map)
    {
        using var disk = new MemoryStream();
        using (var output = new RawOutput(new StreamSink(disk, leaveOpen: true), map.DiskSize, computeSha256: false, progress: null, CancellationToken.None))
        {
            RandomExtentReader.Convert(file, map, output, CancellationToken.None);
            output.Finish();
        }

        var bytes = disk.ToArray();
        Array.Resize(ref bytes, (int)map.DiskSize);
        return bytes;
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 7) + (i >> 12) + 1);
        }

        return bytes;
    }

    private static byte[] Filled(params (byte Value, int Count)[] runs) =>
        [.. runs.SelectMany(run => Enumerable.Repeat(run.Value, run.Count))];

    /// <summary>A file in memory that records every read.</summary>
    private sealed class RecordingSource(byte[] bytes) : IRandomAccessSource
    {
        private readonly List<(long Offset, int Length)> reads = [];

        public byte[] Bytes => bytes;

        public IReadOnlyList<(long Offset, int Length)> Reads
        {
            get
            {
                lock (reads)
                {
                    return [.. reads];
                }
            }
        }

        public long Length => bytes.Length;

        public int ReadAt(long offset, Span<byte> buffer)
        {
            lock (reads)
            {
                reads.Add((offset, buffer.Length));
            }

            var count = (int)Math.Clamp(bytes.Length - offset, 0, buffer.Length);
            bytes.AsSpan((int)Math.Min(offset, bytes.Length), count).CopyTo(buffer);
            return count;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// A map that gives its extents in turn and records what the reader asks of it. A compressed
    /// cluster decodes to its first stored byte repeated, so where each came from shows in the disk.
    /// </summary>
    private sealed class ScriptedMap(int clusterSize, long diskSize, params DiskExtent[] extents) : IExtentMap
    {
        private int next;

        public List<long> Described { get; } = [];

        public List<long> Patches { get; } = [];

        public int ClusterSize => clusterSize;

        public long DiskSize => diskSize;

        public ImageError TruncatedError => ImageErrors.VmdkOffsetBeyondEndOfFile;

        public string DataName => "a grain";

        public string Subject => "The extent 'x.vmdk'";

        public DiskExtent Describe(long cluster)
        {
            Described.Add(cluster);
            return extents[next++];
        }

        public void Patch(in DiskExtent extent, long offset, Span<byte> disk) => Patches.Add(offset);

        public void Decode(CompressedBatch batch, CancellationToken cancellationToken)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                batch.Cluster(i).Fill(batch.Stored(i)[0]);
            }
        }
    }
}
