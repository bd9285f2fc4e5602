// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>
/// Persistent worker threads for the kernels. A decode step issues many parallel kernels of a millisecond or less;
/// waking thread-pool workers for each (as <see cref="Parallel.For(int, int, Action{int})"/> does) costs a large part of
/// that, and in practice the calling thread ends up doing most items itself. These workers spin briefly after each
/// job (<see cref="SpinMilliseconds"/>) so back-to-back kernels start at once, then sleep until the next job.
/// </summary>
/// <remarks>One job runs at a time; a caller that finds the pool busy (another thread's kernel, or a kernel called from
/// inside a job) gets <see langword="false"/> from <see cref="TryRun"/> and runs its items another way. Items are handed
/// out dynamically; the caller works on items too and returns when all are done, rethrowing the first exception.</remarks>
internal sealed class KernelThreadPool
{
    /// <summary>How long an idle worker keeps polling for the next job before it sleeps.</summary>
    internal const double SpinMilliseconds = 2.0;

    private readonly object _gate = new();
    private readonly int _workerCount;
    private Job? _job;
    private int _generation;
    private int _sleepers;
    private int _busy;

    private KernelThreadPool(int workers)
    {
        _workerCount = workers;
        for (var i = 0; i < workers; i++)
        {
            var index = i;
            var thread = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"Multimodal kernel worker {i + 1}" };
            thread.Start();
        }
    }

    /// <summary>Gets the process-wide pool: one worker per core besides the caller's.</summary>
    public static KernelThreadPool Shared { get; } = new(Math.Max(0, Environment.ProcessorCount - 1));

    /// <summary>Runs <paramref name="body"/> for each index in <c>[0, count)</c> on the caller and up to
    /// <c>threads − 1</c> workers.</summary>
    /// <param name="count">The number of items.</param>
    /// <param name="threads">The most threads to use, including the caller.</param>
    /// <param name="body">The work for one item.</param>
    /// <returns><see langword="false"/> when the pool is busy with another job (nothing was run).</returns>
    public bool TryRun(int count, int threads, Action<int> body)
    {
        if (_workerCount == 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            return false;
        }

        try
        {
            var job = new Job(body, count, Math.Min(threads - 1, _workerCount));
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate);
                }
            }

            job.Work();
            var spin = default(SpinWait);
            while (Volatile.Read(ref job.Completed) < count)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            job.Error?.Throw();
            return true;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void WorkerLoop(int index)
    {
        var seen = 0;
        while (true)
        {
            // Poll for a new generation for a short while, then sleep until one is published.
            var start = Stopwatch.GetTimestamp();
            var polls = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                Thread.SpinWait(30);
                if ((++polls & 63) == 0 && Stopwatch.GetElapsedTime(start).TotalMilliseconds > SpinMilliseconds)
                {
                    lock (_gate)
                    {
                        Interlocked.Increment(ref _sleepers);
                        while (Volatile.Read(ref _generation) == seen)
                        {
                            Monitor.Wait(_gate);
                        }

                        Interlocked.Decrement(ref _sleepers);
                    }

                    break;
                }
            }

            seen = Volatile.Read(ref _generation);
            var job = Volatile.Read(ref _job);
            if (job is not null && index < job.Workers)
            {
                job.Work();
            }
        }
    }

    private sealed class Job(Action<int> body, int count, int workers)
    {
        public int Next;
        public int Completed;

        public int Workers { get; } = workers;

        public ExceptionDispatchInfo? Error { get; private set; }

        public void Work()
        {
            int item;
            while ((item = Interlocked.Increment(ref Next) - 1) < count)
            {
                try
                {
                    body(item);
                }
#pragma warning disable CA1031 // Rethrown on the calling thread.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Error ??= ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    Interlocked.Increment(ref Completed);
                }
            }
        }
    }
}
