// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using Xunit.Abstractions;
using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

/// <summary>Runs alone (no other test in parallel), so that process-wide memory figures measure only these tests.</summary>
[CollectionDefinition(nameof(ResourceTests), DisableParallelization = true)]
public sealed class ResourceTestsCollection;

[Collection(nameof(ResourceTests))]
public sealed class ResourceTests(ITestOutputHelper output)
{
    [Fact(Timeout = 300_000)]
    public async Task OpenClose1000Times_DoesNotLeakNativeMemory()
    {
        // Warm up: the first opens load the libraries and grow the allocator's arenas.
        var bytes = await File.ReadAllBytesAsync(PathOf("rotated90.mp4"));
        await CycleAsync(100, bytes);
        var (rssBefore, nativeBefore) = Memory();

        await CycleAsync(1000, bytes);
        var (rssAfter, nativeAfter) = Memory();

        // Native memory = working set less the GC's committed heap, so that managed garbage from other tests does not count.
        var growth = (nativeAfter - nativeBefore) / 1048576.0;
        output.WriteLine($"1,000 open/read/close cycles: RSS {rssBefore / 1048576.0:F1} -> {rssAfter / 1048576.0:F1} MiB; RSS less GC heap {nativeBefore / 1048576.0:F1} -> {nativeAfter / 1048576.0:F1} MiB (growth {growth:F1} MiB)");

        // One cycle holds a demuxer, a decoder with its frame pool, packets and a scaler (about 1 MB); 1,000 leaked cycles would be ~1 GB.
        Assert.True(growth < 32, $"native memory grew by {growth:F1} MiB over 1,000 cycles");
    }

    [Fact(Timeout = 300_000)]
    public async Task TwoThousandFrames_StreamThroughInBoundedMemory()
    {
        // 2,400 frames of 64x48; each frame is 9 KB, so holding them all would be ~22 MB of managed memory.
        using var video = VideoFile.Open(PathOf("long_64x48.mp4"));
        var indices = Enumerable.Range(0, 2000).ToArray();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(true);
        long peak = 0;
        var count = 0;

        await foreach (var frame in video.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = 2 }))
        {
            Assert.Equal(count, frame.Index);
            count++;
            if (count % 100 == 0)
            {
                GC.Collect();
                peak = Math.Max(peak, GC.GetTotalMemory(true) - baseline);
            }
        }

        output.WriteLine($"2,000 frames: peak live managed memory above baseline {peak / 1024.0:F0} KiB (all frames would be {2000L * 64 * 48 * 3 / 1024} KiB)");
        Assert.Equal(2000, count);
        Assert.True(peak < 4 * 1024 * 1024, $"peak {peak} bytes");
    }

    private static async Task CycleAsync(int cycles, byte[] bytes)
    {
        for (var i = 0; i < cycles; i++)
        {
            // Alternate file and stream input, and read a frame every time, so that every native object is created.
            using var video = i % 2 == 0 ? VideoFile.Open(PathOf("rotated90.mp4")) : VideoFile.Open(new MemoryStream(bytes));
            await foreach (var frame in video.ReadFramesAsync([i % 30]))
            {
                Assert.Equal(i % 30, frame.Index);
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static (long Rss, long Native) Memory()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var rss = process.WorkingSet64;
        return (rss, rss - GC.GetGCMemoryInfo().TotalCommittedBytes);
    }
}
