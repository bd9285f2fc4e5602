// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>How many <see cref="OrtHandle"/>s of each type own a native object right now: for leak tests and diagnostics.</summary>
/// <remarks>
/// <para>
/// A handle counts from the moment it takes ownership of a native pointer until its release function succeeds, whether
/// through <c>Dispose</c> or the finalizer. A handle that a child still references (a session under an I/O binding, a
/// value bound to one) is live until the last reference goes, as its native object is.
/// </para>
/// <para>
/// Always on and cheap: one dictionary lookup per handle created and one interlocked add per create and release.
/// Process-wide singletons stay live for the life of the process: the <see cref="SafeOrtEnvHandle"/> of
/// <see cref="OrtEnvironment"/> and the CPU <see cref="SafeOrtMemoryInfoHandle"/> of <see cref="OrtMemory.Cpu"/>
/// (one each, once first used). Thread-safe.
/// </para>
/// </remarks>
internal static class OrtHandleCounts
{
    private static readonly ConcurrentDictionary<Type, StrongBox<long>> s_counts = new();

    /// <summary>Gets the handle types that stay live for the life of the process once first used (one handle each).</summary>
    public static IReadOnlyList<Type> ProcessSingletons { get; } = [typeof(SafeOrtEnvHandle), typeof(SafeOrtMemoryInfoHandle)];

    /// <summary>Gets the number of live handles of all types.</summary>
    public static long Total => s_counts.Values.Sum(c => Volatile.Read(ref c.Value));

    /// <summary>Gets the number of live handles of one type.</summary>
    /// <param name="handleType">The handle type, for example <see cref="SafeOrtSessionHandle"/>.</param>
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
        where T : OrtHandle => Live(typeof(T));

    /// <summary>Copies the counts of every handle type created so far.</summary>
    /// <returns>The live count per handle type.</returns>
    public static IReadOnlyDictionary<Type, long> Snapshot() =>
        s_counts.ToDictionary(entry => entry.Key, entry => Volatile.Read(ref entry.Value.Value));

    /// <summary>Gets the counter of a handle type, creating it on first use.</summary>
    /// <param name="handleType">The concrete handle type.</param>
    /// <returns>The counter, shared by every handle of that type.</returns>
    internal static StrongBox<long> Counter(Type handleType) => s_counts.GetOrAdd(handleType, static _ => new StrongBox<long>());
}
