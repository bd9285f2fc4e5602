// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>A name-to-tensor map (<c>OgaNamedTensors</c>) for <see cref="GenAiGenerator.SetInputs"/>.</summary>
/// <remarks>
/// <para>
/// GenAI takes a reference to each tensor set here, and the generator takes references when the map is applied, so
/// the tensors and the map may be disposed as soon as <see cref="GenAiGenerator.SetInputs"/> returns.
/// For the multimodal pipeline: <c>input_ids</c> must be int32 <c>[1, S]</c> (GenAI reads it as int32 without
/// checking), <c>num_image_tokens</c> int64 <c>[images]</c> (without it the vision graph is skipped silently), and
/// the other names must be inputs of the vision graph (other names are dropped silently).
/// </para>
/// <para>Not thread-safe: use an instance from one thread at a time. <see cref="Dispose"/> may be called more than once.</para>
/// </remarks>
internal sealed class GenAiNamedTensors : IDisposable
{
    private readonly SafeGenAiNamedTensorsHandle _handle;
    private bool _disposed;

    /// <summary>Creates an empty map.</summary>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI cannot create it.</exception>
    /// <exception cref="NativeLibraryException">ONNX Runtime or GenAI cannot be loaded.</exception>
    public GenAiNamedTensors()
    {
        GenAiResult.ThrowIfFailed(GenAiNative.CreateNamedTensors(out var native), "Creating a GenAI named-tensor map");
        _handle = SafeGenAiNamedTensorsHandle.Adopt(native);
    }

    /// <summary>Gets the owning handle, for calls that take the map.</summary>
    internal SafeGenAiNamedTensorsHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle;
        }
    }

    /// <summary>Gets the number of entries.</summary>
    /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
    public int Count
    {
        get
        {
            GenAiResult.ThrowIfFailed(GenAiNative.NamedTensorsCount(Handle, out var count), "Counting a GenAI named-tensor map");
            return (int)count;
        }
    }

    /// <summary>Adds or replaces an entry; GenAI keeps its own reference to the tensor.</summary>
    /// <param name="name">The model input's name.</param>
    /// <param name="tensor">The tensor.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="tensor"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The map or the tensor is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public void Set(string name, GenAiTensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        GenAiResult.ThrowIfFailed(GenAiNative.NamedTensorsSet(Handle, name, tensor.Handle), $"Setting the GenAI input '{name}'");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }
}
