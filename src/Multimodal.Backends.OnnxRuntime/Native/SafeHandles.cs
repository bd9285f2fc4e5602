// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Base of the ONNX Runtime object handles: invalid when null, released through one <c>OrtApi</c> release function.</summary>
internal abstract class OrtHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle.</summary>
    protected OrtHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;
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
        result.SetHandle(env);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(options);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(session);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(value);
        return result;
    }

    /// <summary>Takes ownership of a value over pinned managed memory and of the pin, released together.</summary>
    /// <param name="value">The <c>OrtValue*</c> <c>CreateTensorWithDataAsOrtValue</c> returned.</param>
    /// <param name="pin">The pin of the memory the tensor reads and writes.</param>
    /// <returns>The handle.</returns>
    public static SafeOrtValueHandle Adopt(nint value, MemoryHandle pin)
    {
        var result = new SafeOrtValueHandle { _pin = pin };
        result.SetHandle(value);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(memoryInfo);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(runOptions);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(binding);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(options);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(typeInfo);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(info);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
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
        result.SetHandle(block);
        return result;
    }

    /// <inheritdoc />
    protected override unsafe bool ReleaseHandle()
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
