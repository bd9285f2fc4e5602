// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>How many <see cref="SafeGenAiHandle"/>s of each type own a GenAI object right now: for leak tests and diagnostics.</summary>
/// <remarks>
/// <para>
/// A handle counts from the moment it takes ownership of an <c>Oga*</c> object until it is destroyed, through
/// <c>Dispose</c> or the finalizer. A handle that a child still references (a model under a generator or generator
/// parameters) is live until the last child goes, as its native object is.
/// </para>
/// <para>
/// Always on and cheap: one dictionary lookup per handle created and one interlocked add per create and destroy. GenAI
/// has no process-wide objects of ours (its own global state is released by <c>OgaShutdown</c>); the ONNX Runtime
/// handles this package creates (the vision encoder's session) are counted in the ONNX Runtime backend's
/// <c>OrtHandleCounts</c>. Thread-safe.
/// </para>
/// </remarks>
internal static class GenAiHandleCounts
{
    private static readonly ConcurrentDictionary<Type, StrongBox<long>> s_counts = new();

    /// <summary>Gets the number of live handles of all types.</summary>
    public static long Total => s_counts.Values.Sum(c => Volatile.Read(ref c.Value));

    /// <summary>Gets the number of live handles of one type.</summary>
    /// <param name="handleType">The handle type, for example <see cref="SafeGenAiModelHandle"/>.</param>
    /// <returns>The count; 0 for a type never created.</returns>
    public static long Live(Type handleType)
    {
        ArgumentNullException.ThrowIfNull(handleType);
        return s_counts.TryGetValue(handleType, out var count) ? Volatile.Read(ref count.Value) : 0;
    }

    /// <summary>Gets the number of live handles of one type.</summary>
    /// <typeparam name="T">The handle type.</typeparam>
    /// <returns>The count.</returns>
    public static long Live<T>()
        where T : SafeGenAiHandle => Live(typeof(T));

    /// <summary>Copies the counts of every handle type created so far.</summary>
    /// <returns>The live count per handle type.</returns>
    public static IReadOnlyDictionary<Type, long> Snapshot() =>
        s_counts.ToDictionary(entry => entry.Key, entry => Volatile.Read(ref entry.Value.Value));

    /// <summary>Gets the counter of a handle type, creating it on first use.</summary>
    /// <param name="handleType">The concrete handle type.</param>
    /// <returns>The counter, shared by every handle of that type.</returns>
    internal static StrongBox<long> Counter(Type handleType) => s_counts.GetOrAdd(handleType, static _ => new StrongBox<long>());
}
