// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Xunit;
using Xunit.Abstractions;

namespace Multimodal.Testing;

/// <summary>Element-wise comparisons of feature rows from two engines.</summary>
internal static class FeatureAssert
{
    /// <summary>The largest |a − b| over two spans of the same length.</summary>
    public static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        }

        return max;
    }

    /// <summary>Asserts that every element is within <paramref name="tolerance"/>, writes the largest difference to
    /// <paramref name="output"/>, and returns it.</summary>
    public static float Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float tolerance, ITestOutputHelper output)
    {
        var max = MaxDiff(expected, actual);
        output.WriteLine($"{what}: max |diff| = {max:G3}");
        Assert.True(max <= tolerance, $"{what}: max |diff| {max} exceeds {tolerance}.");
        return max;
    }
}
