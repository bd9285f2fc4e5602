// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>A loaded GenAI model (<c>OgaModel</c>): its ONNX Runtime sessions, shared by every generator created from it.</summary>
/// <remarks>
/// <para>
/// A model may create several generators (<see cref="GenAiGenerator"/>), each with its own token sequence, KV cache and
/// inputs; they may be interleaved freely on one thread. GenAI's header calls its API "not thread safe" and documents
/// nothing finer, so this type does not promise that two generators of one model may run on two threads at the same
/// time; serialize calls per model unless that is tested. Creating generators from one thread while none runs is safe.
/// </para>
/// <para>
/// Generators and parameters keep the model's native handle open, so the model may be disposed before them; its
/// sessions are freed when the last of them is disposed. <see cref="Dispose"/> may be called more than once.
/// </para>
/// </remarks>
internal sealed class GenAiModel : IDisposable
{
    private readonly SafeGenAiModelHandle _handle;
    private bool _disposed;

    private GenAiModel(SafeGenAiModelHandle handle, string directory, string type)
    {
        _handle = handle;
        Directory = directory;
        Type = type;
    }

    /// <summary>Gets the model folder (full path).</summary>
    public string Directory { get; }

    /// <summary>Gets <c>model.type</c> from the configuration (for example <c>gemma3</c>).</summary>
    public string Type { get; }

    /// <summary>Gets the owning handle, for calls that take the model.</summary>
    internal SafeGenAiModelHandle Handle
    {
        get
        {
            // The handle stays open while generators and parameters hold a reference, so the wrapper keeps its own flag.
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle;
        }
    }

    /// <summary>Creates the model's sessions from a configuration (which GenAI copies: the config may be disposed afterwards).</summary>
    /// <param name="config">The configuration.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="config"/> is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI cannot create the model (an unsupported type, a missing or invalid ONNX file…); the message names the folder.</exception>
    public static GenAiModel Create(GenAiConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        GenAiResult.ThrowIfFailed(
            GenAiNative.CreateModelFromConfig(config.Handle, out var native),
            $"Loading the GenAI model in '{config.Directory}'");
        var handle = SafeGenAiModelHandle.Adopt(native);
        try
        {
            return new GenAiModel(handle, config.Directory, ReadType(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads a model folder's configuration and creates the model.</summary>
    /// <param name="directory">The model folder.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">The folder, its configuration or its graphs cannot be used; the message names the folder.</exception>
    /// <exception cref="NativeLibraryException">ONNX Runtime or GenAI cannot be loaded.</exception>
    public static GenAiModel FromDirectory(string directory)
    {
        using var config = GenAiConfig.FromDirectory(directory);
        return Create(config);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    private static unsafe string ReadType(SafeGenAiModelHandle handle)
    {
        GenAiResult.ThrowIfFailed(GenAiNative.ModelGetType(handle, out var type), "Reading the GenAI model type");
        return GenAiResult.TakeString(type);
    }
}
