// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>How frames are picked from a video.</summary>
/// <remarks>Frame indices count frames in presentation order from 0. Create instances with the static factories.</remarks>
public abstract class FrameSampling
{
    private protected FrameSampling()
    {
    }

    /// <summary>Samples <paramref name="count"/> frames evenly, as <c>np.linspace(0, total - 1, count, dtype=int)</c> (truncating) does.</summary>
    /// <param name="count">How many frames to take.</param>
    /// <returns>The policy.</returns>
    public static FrameSampling Uniform(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new UniformFrameSampling(count);
    }

    /// <summary>Takes every <paramref name="step"/>-th frame starting with frame 0.</summary>
    /// <param name="step">The stride in frames.</param>
    /// <param name="maxFrames">An upper bound on the number of frames, or <see langword="null"/>.</param>
    /// <returns>The policy.</returns>
    public static FrameSampling EveryNth(int step, int? maxFrames = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        return new EveryNthFrameSampling(step, maxFrames);
    }

    /// <summary>Takes frames at a fixed rate in frames per second of video time.</summary>
    /// <param name="framesPerSecond">The sampling rate.</param>
    /// <param name="maxFrames">An upper bound on the number of frames, or <see langword="null"/>.</param>
    /// <returns>The policy.</returns>
    public static FrameSampling PerSecond(double framesPerSecond, int? maxFrames = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        return new RateFrameSampling(framesPerSecond, maxFrames);
    }

    /// <summary>Takes the frames shown at the given timestamps.</summary>
    /// <param name="timestamps">The times, from the start of the video.</param>
    /// <returns>The policy.</returns>
    public static FrameSampling AtTimestamps(IEnumerable<TimeSpan> timestamps)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        return new TimestampFrameSampling([.. timestamps]);
    }

    /// <summary>Takes the frames at the given indices (presentation order, from 0).</summary>
    /// <param name="indices">The frame indices; duplicates are read once and the frames come back in ascending order.</param>
    /// <returns>The policy.</returns>
    public static FrameSampling AtIndices(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int[] list = [.. indices];
        if (list.Length == 0)
        {
            throw new ArgumentException("At least one frame index is required.", nameof(indices));
        }

        foreach (var i in list)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(i, nameof(indices));
        }

        return new IndexFrameSampling(list);
    }

    /// <summary>Computes the frame indices this policy selects.</summary>
    /// <param name="frameCount">The number of frames in the video.</param>
    /// <param name="framesPerSecond">The video's frame rate (used by rate and timestamp policies).</param>
    /// <returns>Ascending frame indices, each in [0, <paramref name="frameCount"/>).</returns>
    public abstract IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond);
}

/// <summary>Evenly spaced frames (<see cref="FrameSampling.Uniform(int)"/>).</summary>
public sealed class UniformFrameSampling : FrameSampling
{
    internal UniformFrameSampling(int count) => Count = count;

    /// <summary>Gets the number of frames requested.</summary>
    public int Count { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frameCount);

        // np.linspace(0, n-1, k): start + i*step with step=(n-1)/(k-1), the last sample pinned to n-1; dtype=int truncates.
        var k = Count;
        var result = new int[k];
        if (k == 1)
        {
            result[0] = 0;
            return result;
        }

        var step = (frameCount - 1) / (double)(k - 1);
        for (var i = 0; i < k; i++)
        {
            result[i] = (int)(i * step);
        }

        result[k - 1] = frameCount - 1;
        return result;
    }
}

/// <summary>Every n-th frame (<see cref="FrameSampling.EveryNth(int, int?)"/>).</summary>
public sealed class EveryNthFrameSampling : FrameSampling
{
    internal EveryNthFrameSampling(int step, int? maxFrames)
    {
        Step = step;
        MaxFrames = maxFrames;
    }

    /// <summary>Gets the stride in frames.</summary>
    public int Step { get; }

    /// <summary>Gets the upper bound on the number of frames, if any.</summary>
    public int? MaxFrames { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond)
    {
        var list = new List<int>();
        for (var i = 0; i < frameCount && (MaxFrames is null || list.Count < MaxFrames); i += Step)
        {
            list.Add(i);
        }

        return list;
    }
}

/// <summary>Frames at a fixed rate (<see cref="FrameSampling.PerSecond(double, int?)"/>).</summary>
public sealed class RateFrameSampling : FrameSampling
{
    internal RateFrameSampling(double framesPerSecond, int? maxFrames)
    {
        FramesPerSecond = framesPerSecond;
        MaxFrames = maxFrames;
    }

    /// <summary>Gets the sampling rate.</summary>
    public double FramesPerSecond { get; }

    /// <summary>Gets the upper bound on the number of frames, if any.</summary>
    public int? MaxFrames { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        var list = new List<int>();
        var step = framesPerSecond / FramesPerSecond;
        for (var t = 0.0; t < frameCount && (MaxFrames is null || list.Count < MaxFrames); t += step)
        {
            var index = (int)t;
            if (list.Count == 0 || list[^1] != index)
            {
                list.Add(index);
            }
        }

        return list;
    }
}

/// <summary>Frames at given times (<see cref="FrameSampling.AtTimestamps(IEnumerable{TimeSpan})"/>).</summary>
public sealed class TimestampFrameSampling : FrameSampling
{
    internal TimestampFrameSampling(IReadOnlyList<TimeSpan> timestamps) => Timestamps = timestamps;

    /// <summary>Gets the requested times.</summary>
    public IReadOnlyList<TimeSpan> Timestamps { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        var set = new SortedSet<int>();
        foreach (var t in Timestamps)
        {
            set.Add(Math.Clamp((int)Math.Floor(t.TotalSeconds * framesPerSecond), 0, frameCount - 1));
        }

        return [.. set];
    }
}

/// <summary>Frames at given indices (<see cref="FrameSampling.AtIndices(IEnumerable{int})"/>).</summary>
public sealed class IndexFrameSampling : FrameSampling
{
    internal IndexFrameSampling(IReadOnlyList<int> indices) => Indices = indices;

    /// <summary>Gets the requested indices, as given.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">An index is not below <paramref name="frameCount"/>.</exception>
    public override IReadOnlyList<int> SelectFrames(int frameCount, double framesPerSecond)
    {
        var set = new SortedSet<int>();
        foreach (var i in Indices)
        {
            if (i >= frameCount)
            {
                throw new ArgumentOutOfRangeException(nameof(frameCount), $"Frame index {i} is out of range: the video has {frameCount} frames (indices 0 to {frameCount - 1}).");
            }

            set.Add(i);
        }

        return [.. set];
    }
}
