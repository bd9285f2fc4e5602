// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Inputs and outputs bound to names ahead of a run (<c>OrtIoBinding</c>), so that buffers ONNX Runtime allocated can be fed back without copying.</summary>
/// <remarks>
/// <para>
/// The decoder loop this exists for: bind <c>present.N</c> outputs with <see cref="BindOutputToCpu"/>, run, take them
/// with <see cref="GetOutputValues"/>, and bind those very values as the next step's <c>past_key_values.N</c> inputs
/// with <see cref="BindInput"/>. ONNX Runtime shares the tensor buffers between the values; nothing is copied.
/// </para>
/// <para>
/// An output bound with <see cref="BindOutputToCpu"/> gets a fresh buffer on every <see cref="Run"/>: before each run
/// the binding re-binds it to the device, because ONNX Runtime would otherwise treat the previous run's result as a
/// pre-allocated output (failing when the shape grows, and writing into a buffer that may now be an input). Outputs
/// bound with <see cref="BindOutput"/> are written in place on every run.
/// </para>
/// <para>
/// Bound values are referenced until they are re-bound, cleared or the binding is disposed, so disposing an
/// <see cref="OrtValue"/> that is still bound is safe (its native value, and the pin of its managed memory, go when the
/// binding lets go). The binding keeps its session alive. It is not thread-safe: use one binding per thread.
/// </para>
/// </remarks>
internal sealed unsafe class OrtIoBinding : IDisposable
{
    private readonly OrtSession _session;
    private readonly SafeOrtIoBindingHandle _handle;
    private readonly Dictionary<string, SafeOrtValueHandle> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SafeOrtValueHandle?> _outputs = new(StringComparer.Ordinal);
    private readonly List<string> _outputOrder = [];
    private bool _disposed;

    /// <summary>Initializes a binding for a session (<c>CreateIoBinding</c>).</summary>
    /// <param name="session">The session the binding runs.</param>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="session"/> is disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot create the binding.</exception>
    public OrtIoBinding(OrtSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        using var lease = new HandleLease(session.Handle);
        nint raw;
        var status = OrtApi.CreateIoBinding(lease.Pointer, &raw);
        if (status != 0)
        {
            OrtStatus.Throw(status, $"create an I/O binding for {session.Description}");
        }

        _handle = SafeOrtIoBindingHandle.Adopt(raw, session.Handle);
    }

    /// <summary>Gets the session the binding runs.</summary>
    public OrtSession Session => _session;

    /// <summary>Gets the bound output names, in the order <see cref="GetOutputValues"/> returns their values.</summary>
    public IReadOnlyList<string> OutputNames => _outputOrder;

    /// <summary>Binds a value to an input (<c>BindInput</c>), replacing any value bound to that name.</summary>
    /// <param name="name">The model input's name.</param>
    /// <param name="value">The value; referenced (not copied) until re-bound, cleared or disposed.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or contains a NUL character.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The binding or the value is disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the binding (for example an unknown input name).</exception>
    public void BindInput(string name, OrtValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var valueHandle = value.Handle;
        var added = false;
        valueHandle.DangerousAddRef(ref added);
        try
        {
            using var binding = new HandleLease(_handle);
            fixed (byte* n = OrtMemory.Utf8(name, nameof(name)))
            {
                var status = OrtApi.BindInput(binding.Pointer, n, valueHandle.DangerousGetHandle());
                if (status != 0)
                {
                    OrtStatus.Throw(status, $"bind input '{name}' of {_session.Description}");
                }
            }
        }
        catch
        {
            valueHandle.DangerousRelease();
            throw;
        }

        // The previous value of this name (if any) is no longer referenced by the native binding.
        _inputs.GetValueOrDefault(name)?.DangerousRelease();
        _inputs[name] = valueHandle;
    }

    /// <summary>Binds a pre-allocated value to an output (<c>BindOutput</c>): every run writes into it.</summary>
    /// <param name="name">The model output's name.</param>
    /// <param name="value">The value, with the output's exact type and shape; referenced until re-bound, cleared or disposed.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or contains a NUL character.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The binding or the value is disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the binding.</exception>
    public void BindOutput(string name, OrtValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var valueHandle = value.Handle;
        var added = false;
        valueHandle.DangerousAddRef(ref added);
        try
        {
            using var binding = new HandleLease(_handle);
            fixed (byte* n = OrtMemory.Utf8(name, nameof(name)))
            {
                var status = OrtApi.BindOutput(binding.Pointer, n, valueHandle.DangerousGetHandle());
                if (status != 0)
                {
                    OrtStatus.Throw(status, $"bind output '{name}' of {_session.Description}");
                }
            }
        }
        catch
        {
            valueHandle.DangerousRelease();
            throw;
        }

        RecordOutput(name, valueHandle);
    }

    /// <summary>Binds an output to CPU memory (<c>BindOutputToDevice</c> with the CPU memory info): each run allocates it, and <see cref="GetOutputValues"/> returns it.</summary>
    /// <param name="name">The model output's name.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or contains a NUL character.</exception>
    /// <exception cref="ObjectDisposedException">The binding is disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the binding.</exception>
    public void BindOutputToCpu(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (var binding = new HandleLease(_handle))
        {
            BindToCpu(binding.Pointer, OrtMemory.Utf8(name, nameof(name)), name);
        }

        RecordOutput(name, null);
    }

    /// <summary>Runs the session with the bound inputs and outputs (<c>RunWithBinding</c>).</summary>
    /// <param name="runOptions">Options whose <see cref="OrtRunOptions.Terminate"/> stops this run, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the run at the next operator boundary.</param>
    /// <exception cref="ObjectDisposedException">The binding, its session or the run options are disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the bound values or the run fails.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before or during the run.</exception>
    public void Run(OrtRunOptions? runOptions = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var session = new HandleLease(_session.Handle);
        using var binding = new HandleLease(_handle);
        foreach (var name in _outputOrder)
        {
            if (_outputs[name] is null)
            {
                // Drop the previous run's result for this output so that the run allocates a new one (see remarks).
                BindToCpu(binding.Pointer, OrtMemory.Utf8(name, nameof(name)), name);
            }
        }

        using var scope = RunScope.Enter(runOptions, cancellationToken);
        var status = OrtApi.RunWithBinding(session.Pointer, scope.Pointer, binding.Pointer);
        if (status != 0)
        {
            throw scope.Failure(status, $"run {_session.Description} with an I/O binding");
        }
    }

    /// <summary>Returns the bound outputs' current values (<c>GetBoundOutputValues</c>), in <see cref="OutputNames"/> order.</summary>
    /// <returns>New values sharing the outputs' buffers (nothing is copied); the caller disposes them. Empty when no output is bound.</returns>
    /// <exception cref="ObjectDisposedException">The binding is disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot return them (for example before the first run, for outputs bound to the CPU).</exception>
    public OrtValue[] GetOutputValues()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var binding = new HandleLease(_handle);
        nint* values;
        nuint count;
        var status = OrtApi.GetBoundOutputValues(binding.Pointer, OrtMemory.DefaultAllocator, &values, &count);
        if (status != 0)
        {
            OrtStatus.Throw(status, $"return the bound outputs of {_session.Description}");
        }

        if (values is null)
        {
            return [];
        }

        // The array itself comes from the allocator and is freed here; the values it lists now belong to the caller.
        using var array = SafeOrtAllocatedHandle.Adopt((nint)values);
        return OrtSession.AdoptAll(new ReadOnlySpan<nint>(values, checked((int)count)));
    }

    /// <summary>Unbinds every input (<c>ClearBoundInputs</c>) and lets go of their values.</summary>
    /// <exception cref="ObjectDisposedException">The binding is disposed.</exception>
    public void ClearBoundInputs()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (var binding = new HandleLease(_handle))
        {
            OrtApi.ClearBoundInputs(binding.Pointer);
        }

        ReleaseAll(_inputs.Values);
        _inputs.Clear();
    }

    /// <summary>Unbinds every output (<c>ClearBoundOutputs</c>) and lets go of their values.</summary>
    /// <exception cref="ObjectDisposedException">The binding is disposed.</exception>
    public void ClearBoundOutputs()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (var binding = new HandleLease(_handle))
        {
            OrtApi.ClearBoundOutputs(binding.Pointer);
        }

        ReleaseAll(_outputs.Values);
        _outputs.Clear();
        _outputOrder.Clear();
    }

    /// <summary>Releases the binding, then the values it referenced, then its reference on the session.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _handle.Dispose();
        ReleaseAll(_inputs.Values);
        ReleaseAll(_outputs.Values);
        _inputs.Clear();
        _outputs.Clear();
        _outputOrder.Clear();
    }

    private static void ReleaseAll(IEnumerable<SafeOrtValueHandle?> values)
    {
        foreach (var value in values)
        {
            value?.DangerousRelease();
        }
    }

    private void BindToCpu(nint binding, byte[] utf8Name, string name)
    {
        using var cpu = new HandleLease(OrtMemory.Cpu);
        fixed (byte* n = utf8Name)
        {
            var status = OrtApi.BindOutputToDevice(binding, n, cpu.Pointer);
            if (status != 0)
            {
                OrtStatus.Throw(status, $"bind output '{name}' of {_session.Description} to the CPU");
            }
        }
    }

    private void RecordOutput(string name, SafeOrtValueHandle? value)
    {
        if (_outputs.ContainsKey(name))
        {
            _outputs[name]?.DangerousRelease();
        }
        else
        {
            // ONNX Runtime replaces a re-bound name in place, so the order of first binding is the order of the values.
            _outputOrder.Add(name);
        }

        _outputs[name] = value;
    }
}
