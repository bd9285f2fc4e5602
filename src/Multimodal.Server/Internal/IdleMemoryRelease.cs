// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Internal;

/// <summary>Gives memory back to the operating system when the server has been idle for a while after serving requests.</summary>
/// <remarks>
/// A request leaves large transient buffers behind: the body, decoded images and video frames, visual embeddings, and the
/// managed engine's KV cache, most of them on the large object heap. The runtime keeps that memory committed until a
/// full collection needs it, so after a burst the process would hold its peak until the next burst. Once no request has
/// run for <see cref="MultimodalServerOptions.ReleaseMemoryWhenIdle"/>, one aggressive, compacting collection returns
/// the free memory, and on Linux <c>malloc_trim</c> returns what native libraries (codecs, renderers) freed. It runs at
/// most once per idle period, only after requests were served, and never while a request runs (a request that starts
/// meanwhile simply waits for the collection, which takes milliseconds).
/// </remarks>
internal sealed partial class IdleMemoryRelease : IDisposable
{
    private readonly TimeSpan _delay;
    private readonly ILogger _logger;
    private readonly Timer? _timer;
    private readonly Lock _lock = new();
    private int _active;
    private long _servedSinceRelease;
    private long _generation;

    public IdleMemoryRelease(IOptions<MultimodalServerOptions> options, ILogger<IdleMemoryRelease> logger)
    {
        _delay = options.Value.ReleaseMemoryWhenIdle ?? Timeout.InfiniteTimeSpan;
        _logger = logger;
        if (_delay != Timeout.InfiniteTimeSpan)
        {
            _timer = new Timer(static s => ((IdleMemoryRelease)s!).OnIdle(), this, Timeout.Infinite, Timeout.Infinite);
        }
    }

    /// <summary>Gets how many times memory was released (for tests and diagnostics).</summary>
    public int Releases { get; private set; }

    /// <summary>Marks a request as running: the idle countdown stops.</summary>
    public void Enter()
    {
        lock (_lock)
        {
            _active++;
            _generation++;
            _timer?.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    /// <summary>Marks a request as finished: when it was the last one, the idle countdown starts.</summary>
    public void Exit()
    {
        lock (_lock)
        {
            _active--;
            _servedSinceRelease++;
            _generation++;
            if (_active == 0)
            {
                _timer?.Change(_delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnIdle()
    {
        long generation;
        lock (_lock)
        {
            if (_active != 0 || _servedSinceRelease == 0)
            {
                return;
            }

            generation = _generation;
        }

        var before = Environment.WorkingSet;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
        lock (_lock)
        {
            // Requests that came and went during the collection keep the next idle period armed.
            if (_generation == generation)
            {
                _servedSinceRelease = 0;
            }

            Releases++;
        }

        Log.MemoryReleased(_logger, before / 1048576.0, Environment.WorkingSet / 1048576.0);
    }

    private static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): the managed release above is all there is.
        }
    }

    public void Dispose() => _timer?.Dispose();

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Idle: released memory, working set {BeforeMb:F1} MB → {AfterMb:F1} MB")]
        public static partial void MemoryReleased(ILogger logger, double beforeMb, double afterMb);
    }
}
