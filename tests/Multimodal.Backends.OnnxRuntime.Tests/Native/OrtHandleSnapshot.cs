// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>A copy of <see cref="OrtHandleCounts"/>: the live handles per type at one moment, to compare with later.</summary>
/// <param name="Counts">The live count per handle type.</param>
internal sealed record OrtHandleSnapshot(IReadOnlyDictionary<Type, long> Counts)
{
    /// <summary>Reads the counts now.</summary>
    /// <returns>The snapshot.</returns>
    public static OrtHandleSnapshot Now() => new(OrtHandleCounts.Snapshot());

    /// <summary>Runs the finalizers of everything already dropped, then reads the counts.</summary>
    /// <returns>The snapshot.</returns>
    public static OrtHandleSnapshot Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Now();
    }

    /// <summary>Gets the count of one handle type.</summary>
    public long Of(Type type) => Counts.GetValueOrDefault(type);

    /// <summary>Gets the count of one handle type.</summary>
    public long Of<T>()
        where T : OrtHandle => Of(typeof(T));

    /// <summary>Asserts that every type's count equals this snapshot's, naming each that differs.</summary>
    /// <param name="when">When the counts are compared, for the message.</param>
    /// <param name="now">The counts to compare; the current ones when null.</param>
    public void AssertSameAs(string when, OrtHandleSnapshot? now = null)
    {
        now ??= Now();
        var changed = Counts.Keys.Union(now.Counts.Keys)
            .Where(type => Of(type) != now.Of(type))
            .Select(type => $"{type.Name}: {Of(type)} -> {now.Of(type)}")
            .ToArray();
        Assert.True(changed.Length == 0, $"Live ONNX Runtime handle counts {when} differ from the baseline: {string.Join("; ", changed)}.");
    }
}
