// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Base of the ONNX Runtime object handles: invalid when null, released through one <c>OrtApi</c> release function.</summary>
/// <remarks>
/// Every handle that takes ownership of a native object (<see cref="Own"/>) is counted in <see cref="OrtHandleCounts"/>
/// under its type until its release succeeds, so that tests can prove that nothing is left behind.
/// </remarks>
internal abstract class OrtHandle : SafeHandle
{
    private StrongBox<long>? _liveCount;

    /// <summary>Initializes an invalid handle.</summary>
    protected OrtHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of a native object and counts this handle as live.</summary>
    /// <param name="native">The object's pointer; must not be null.</param>
    protected void Own(nint native)
    {
        // Counted before the pointer is set, so that a release can never decrement a count that was not incremented.
        var count = OrtHandleCounts.Counter(GetType());
        Interlocked.Increment(ref count.Value);
        _liveCount = count;
        SetHandle(native);
    }

    /// <summary>Releases the native object through its <c>OrtApi</c> release function.</summary>
    /// <returns><see langword="true"/> when the object was released.</returns>
    protected abstract bool ReleaseNative();

    /// <inheritdoc />
    protected sealed override bool ReleaseHandle()
    {
        var released = ReleaseNative();

        // A failed release leaves the object behind, so it stays counted: a leak test then sees it.
        if (released && _liveCount is { } count)
        {
            Interlocked.Decrement(ref count.Value);
        }

        return released;
    }
}

/// <summary>An <c>OrtEnv</c>, released with <c>ReleaseEnv</c>.</summary>
internal sealed class SafeOrtEnvHandle : OrtHandle
{
    /// <summary>Takes ownership of an environment.</summary>
    /// <param name="env">The <c>OrtEnv*</c> <c>CreateEnv</c> returned.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtEnvHandle Adopt(nint env)
    {
        var result = new SafeOrtEnvHandle();
        result.Own(env);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseEnv(handle);
        return true;
    }
}

/// <summary>An <c>OrtSessionOptions</c>, released with <c>ReleaseSessionOptions</c>.</summary>
internal sealed class SafeOrtSessionOptionsHandle : OrtHandle
{
    /// <summary>Takes ownership of session options.</summary>
    /// <param name="options">The <c>OrtSessionOptions*</c> <c>CreateSessionOptions</c> returned.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtSessionOptionsHandle Adopt(nint options)
    {
        var result = new SafeOrtSessionOptionsHandle();
        result.Own(options);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseSessionOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtSession</c>, released with <c>ReleaseSession</c>.</summary>
internal sealed class SafeOrtSessionHandle : OrtHandle
{
    /// <summary>Takes ownership of a session.</summary>
    /// <param name="session">The <c>OrtSession*</c> <c>CreateSession</c> or <c>CreateSessionFromArray</c> returned.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtSessionHandle Adopt(nint session)
    {
        var result = new SafeOrtSessionHandle();
        result.Own(session);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseSession(handle);
        return true;
    }
}

/// <summary>An <c>OrtValue</c>, released with <c>ReleaseValue</c>; a tensor over managed memory also unpins that memory, after the value is gone.</summary>
internal sealed class SafeOrtValueHandle : OrtHandle
{
    private MemoryHandle _pin;

    /// <summary>Takes ownership of a value that owns its data (or shares ONNX Runtime-owned data).</summary>
    /// <param name="value">The <c>OrtValue*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtValueHandle Adopt(nint value)
    {
        var result = new SafeOrtValueHandle();
        result.Own(value);
        return result;
    }

    /// <summary>Takes ownership of a value over pinned managed memory and of the pin, released together.</summary>
    /// <param name="value">The <c>OrtValue*</c> <c>CreateTensorWithDataAsOrtValue</c> returned.</param>
    /// <param name="pin">The pin of the memory the tensor reads and writes.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtValueHandle Adopt(nint value, MemoryHandle pin)
    {
        var result = new SafeOrtValueHandle { _pin = pin };
        result.Own(value);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        // ONNX Runtime may read the buffer until ReleaseValue returns, so the pin goes last.
        OrtApi.ReleaseValue(handle);
        _pin.Dispose();
        return true;
    }
}

/// <summary>An <c>OrtMemoryInfo</c>, released with <c>ReleaseMemoryInfo</c>.</summary>
internal sealed class SafeOrtMemoryInfoHandle : OrtHandle
{
    /// <summary>Takes ownership of a memory info.</summary>
    /// <param name="memoryInfo">The <c>OrtMemoryInfo*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtMemoryInfoHandle Adopt(nint memoryInfo)
    {
        var result = new SafeOrtMemoryInfoHandle();
        result.Own(memoryInfo);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseMemoryInfo(handle);
        return true;
    }
}

/// <summary>An <c>OrtRunOptions</c>, released with <c>ReleaseRunOptions</c>.</summary>
internal sealed class SafeOrtRunOptionsHandle : OrtHandle
{
    /// <summary>Takes ownership of run options.</summary>
    /// <param name="runOptions">The <c>OrtRunOptions*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtRunOptionsHandle Adopt(nint runOptions)
    {
        var result = new SafeOrtRunOptionsHandle();
        result.Own(runOptions);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseRunOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtIoBinding</c>, released with <c>ReleaseIoBinding</c>; keeps its session alive until then.</summary>
internal sealed class SafeOrtIoBindingHandle : OrtHandle
{
    private SafeOrtSessionHandle? _session;

    /// <summary>Takes ownership of a binding and references its session (child keeps parent).</summary>
    /// <param name="binding">The <c>OrtIoBinding*</c> <c>CreateIoBinding</c> returned.</param>
    /// <param name="session">The session it was created for.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtIoBindingHandle Adopt(nint binding, SafeOrtSessionHandle session)
    {
        var result = new SafeOrtIoBindingHandle();
        var added = false;
        session.DangerousAddRef(ref added);
        result._session = session;
        result.Own(binding);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseIoBinding(handle);
        _session?.DangerousRelease();
        return true;
    }
}

/// <summary>An <c>OrtCUDAProviderOptionsV2</c>, released with <c>ReleaseCUDAProviderOptions</c>.</summary>
internal sealed class SafeOrtCudaProviderOptionsHandle : OrtHandle
{
    /// <summary>Takes ownership of CUDA provider options.</summary>
    /// <param name="options">The <c>OrtCUDAProviderOptionsV2*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtCudaProviderOptionsHandle Adopt(nint options)
    {
        var result = new SafeOrtCudaProviderOptionsHandle();
        result.Own(options);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseCudaProviderOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtTypeInfo</c>, released with <c>ReleaseTypeInfo</c>.</summary>
internal sealed class SafeOrtTypeInfoHandle : OrtHandle
{
    /// <summary>Takes ownership of a type info.</summary>
    /// <param name="typeInfo">The <c>OrtTypeInfo*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtTypeInfoHandle Adopt(nint typeInfo)
    {
        var result = new SafeOrtTypeInfoHandle();
        result.Own(typeInfo);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseTypeInfo(handle);
        return true;
    }
}

/// <summary>An <c>OrtTensorTypeAndShapeInfo</c> owned by the caller (from <c>GetTensorTypeAndShape</c>), released with <c>ReleaseTensorTypeAndShapeInfo</c>.</summary>
internal sealed class SafeOrtTensorTypeAndShapeInfoHandle : OrtHandle
{
    /// <summary>Takes ownership of a tensor type and shape info.</summary>
    /// <param name="info">The <c>OrtTensorTypeAndShapeInfo*</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtTensorTypeAndShapeInfoHandle Adopt(nint info)
    {
        var result = new SafeOrtTensorTypeAndShapeInfoHandle();
        result.Own(info);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseNative()
    {
        OrtApi.ReleaseTensorTypeAndShapeInfo(handle);
        return true;
    }
}

/// <summary>Memory ONNX Runtime allocated with the default allocator for us (a name, an array of values), freed with <c>AllocatorFree</c>.</summary>
internal sealed class SafeOrtAllocatedHandle : OrtHandle
{
    /// <summary>Takes ownership of a block allocated by <see cref="OrtMemory.DefaultAllocator"/>.</summary>
    /// <param name="block">The pointer.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtAllocatedHandle Adopt(nint block)
    {
        var result = new SafeOrtAllocatedHandle();
        result.Own(block);
        return result;
    }

    /// <inheritdoc />
    protected override unsafe bool ReleaseNative()
    {
        var status = OrtApi.AllocatorFree(OrtMemory.DefaultAllocator, (void*)handle);
        if (status == 0)
        {
            return true;
        }

        // A failing free cannot be reported from a release: drop its status and tell the runtime the release failed.
        OrtApi.ReleaseStatus(status);
        return false;
    }
}

/// <summary>A reference held on a SafeHandle for the length of one native call, so that a concurrent <c>Dispose</c> waits instead of freeing the object under the call.</summary>
internal readonly ref struct HandleLease
{
    private readonly SafeHandle _handle;

    /// <summary>Adds a reference to the handle and reads its pointer.</summary>
    /// <param name="handle">The handle.</param>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    public HandleLease(SafeHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        _handle = handle;
        Pointer = handle.DangerousGetHandle();
    }

    /// <summary>Gets the native pointer, valid until <see cref="Dispose"/>.</summary>
    public nint Pointer { get; }

    /// <summary>Releases the reference.</summary>
    public void Dispose() => _handle.DangerousRelease();
}
