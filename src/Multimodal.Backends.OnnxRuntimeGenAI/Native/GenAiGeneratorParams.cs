// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Search options for generators (<c>OgaGeneratorParams</c>), starting from the model's <c>search</c> section.</summary>
/// <remarks>
/// <para>
/// GenAI copies the options into each generator at creation, so changing them afterwards affects only later
/// generators. Names are those of <c>genai_config.json</c>'s <c>search</c> section (<c>max_length</c>,
/// <c>do_sample</c>, <c>top_k</c>, <c>temperature</c>…); an unknown name is an error.
/// </para>
/// <para>Not thread-safe: use an instance from one thread at a time. <see cref="Dispose"/> may be called more than once.</para>
/// </remarks>
internal sealed class GenAiGeneratorParams : IDisposable
{
    private readonly SafeGenAiGeneratorParamsHandle _handle;
    private bool _disposed;

    /// <summary>Creates parameters for a model.</summary>
    /// <param name="model">The model; its native handle stays open while these parameters exist.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="model"/> is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public GenAiGeneratorParams(GenAiModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var modelHandle = model.Handle;
        GenAiResult.ThrowIfFailed(GenAiNative.CreateGeneratorParams(modelHandle, out var native), "Creating GenAI generator parameters");
        _handle = SafeGenAiGeneratorParamsHandle.Adopt(native, modelHandle);
    }

    /// <summary>Gets the owning handle, for calls that take the parameters.</summary>
    internal SafeGenAiGeneratorParamsHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle;
        }
    }

    /// <summary>Sets a numeric search option (<c>OgaGeneratorParamsSetSearchNumber</c>), for example <c>max_length</c>.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The parameters are disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">The name is unknown or the value invalid.</exception>
    public void SetSearchOption(string name, double value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        GenAiResult.ThrowIfFailed(GenAiNative.GeneratorParamsSetSearchNumber(Handle, name, value), $"Setting the GenAI search option {name} = {value}");
    }

    /// <summary>Sets a Boolean search option (<c>OgaGeneratorParamsSetSearchBool</c>), for example <c>do_sample</c>.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The parameters are disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">The name is unknown.</exception>
    public void SetSearchOption(string name, bool value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        GenAiResult.ThrowIfFailed(GenAiNative.GeneratorParamsSetSearchBool(Handle, name, value), $"Setting the GenAI search option {name} = {value}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }
}
