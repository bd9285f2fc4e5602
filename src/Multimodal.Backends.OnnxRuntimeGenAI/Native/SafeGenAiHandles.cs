// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Base of the GenAI object handles: owns one <c>Oga*</c> object and, optionally, keeps its parent's handle alive until it is destroyed.</summary>
/// <remarks>
/// <para>
/// GenAI reference-counts models and parameters internally, but the parent reference makes the managed lifetime
/// explicit too (a generator keeps its model's handle open, so disposing the model first is safe), and keeps every
/// object alive until its children are gone, which <c>OgaShutdown</c> requires.
/// </para>
/// <para>
/// Every handle that owns an object is counted in <see cref="GenAiHandleCounts"/> under its type until it is destroyed,
/// so that tests can prove that nothing is left behind.
/// </para>
/// </remarks>
internal abstract class SafeGenAiHandle : SafeHandle
{
    private SafeHandle? _parent;
    private StrongBox<long>? _liveCount;

    /// <summary>Initializes an invalid handle.</summary>
    protected SafeGenAiHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of a GenAI object, adding a reference to its parent first.</summary>
    /// <param name="native">The object GenAI returned; must not be null.</param>
    /// <param name="parent">A handle that must stay open while this one is, or <see langword="null"/>.</param>
    protected void Attach(IntPtr native, SafeHandle? parent)
    {
        if (parent is not null)
        {
            var added = false;
            parent.DangerousAddRef(ref added);
            _parent = parent;
        }

        // Counted before the pointer is set, so that a release can never decrement a count that was not incremented.
        var count = GenAiHandleCounts.Counter(GetType());
        Interlocked.Increment(ref count.Value);
        _liveCount = count;
        SetHandle(native);
    }

    /// <summary>Destroys the native object.</summary>
    /// <param name="native">The object.</param>
    protected abstract void Destroy(IntPtr native);

    /// <inheritdoc />
    protected sealed override bool ReleaseHandle()
    {
        Destroy(handle);
        _parent?.DangerousRelease();
        if (_liveCount is { } count)
        {
            Interlocked.Decrement(ref count.Value);
        }

        return true;
    }
}

/// <summary>An <c>OgaConfig</c>, destroyed with <c>OgaDestroyConfig</c>.</summary>
internal sealed class SafeGenAiConfigHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of a config.</summary>
    /// <param name="native">From <c>OgaCreateConfig</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiConfigHandle Adopt(IntPtr native)
    {
        var result = new SafeGenAiConfigHandle();
        result.Attach(native, null);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyConfig(native);
}

/// <summary>An <c>OgaModel</c>, released with <c>OgaDestroyModel</c>.</summary>
internal sealed class SafeGenAiModelHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of a model.</summary>
    /// <param name="native">From <c>OgaCreateModelFromConfig</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiModelHandle Adopt(IntPtr native)
    {
        var result = new SafeGenAiModelHandle();
        result.Attach(native, null);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyModel(native);
}

/// <summary>An <c>OgaGeneratorParams</c>, released with <c>OgaDestroyGeneratorParams</c>; keeps its model's handle open.</summary>
internal sealed class SafeGenAiGeneratorParamsHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of generator parameters.</summary>
    /// <param name="native">From <c>OgaCreateGeneratorParams</c>.</param>
    /// <param name="model">The model they were created for.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiGeneratorParamsHandle Adopt(IntPtr native, SafeGenAiModelHandle model)
    {
        var result = new SafeGenAiGeneratorParamsHandle();
        result.Attach(native, model);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyGeneratorParams(native);
}

/// <summary>An <c>OgaGenerator</c>, destroyed with <c>OgaDestroyGenerator</c>; keeps its model's handle open.</summary>
internal sealed class SafeGenAiGeneratorHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of a generator.</summary>
    /// <param name="native">From <c>OgaCreateGenerator</c>.</param>
    /// <param name="model">The model it runs.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiGeneratorHandle Adopt(IntPtr native, SafeGenAiModelHandle model)
    {
        var result = new SafeGenAiGeneratorHandle();
        result.Attach(native, model);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyGenerator(native);
}

/// <summary>An <c>OgaTensor</c>, released with <c>OgaDestroyTensor</c> (GenAI keeps its own references where it stores one).</summary>
internal sealed class SafeGenAiTensorHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of a tensor.</summary>
    /// <param name="native">From <c>OgaCreateTensorFromBuffer</c> or <c>OgaGenerator_GetLogits</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiTensorHandle Adopt(IntPtr native)
    {
        var result = new SafeGenAiTensorHandle();
        result.Attach(native, null);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyTensor(native);
}

/// <summary>An <c>OgaNamedTensors</c>, destroyed with <c>OgaDestroyNamedTensors</c>.</summary>
internal sealed class SafeGenAiNamedTensorsHandle : SafeGenAiHandle
{
    /// <summary>Takes ownership of a named-tensor map.</summary>
    /// <param name="native">From <c>OgaCreateNamedTensors</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeGenAiNamedTensorsHandle Adopt(IntPtr native)
    {
        var result = new SafeGenAiNamedTensorsHandle();
        result.Attach(native, null);
        return result;
    }

    /// <inheritdoc />
    protected override void Destroy(IntPtr native) => GenAiNative.DestroyNamedTensors(native);
}
