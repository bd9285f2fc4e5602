// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>A GenAI model folder's parsed <c>genai_config.json</c> (<c>OgaConfig</c>), adjustable before <see cref="GenAiModel.Create"/>.</summary>
/// <remarks>
/// <para>
/// The provider calls change the decoder's session options only; the vision and embedding sessions follow them when
/// their own <c>session_options</c> are absent from the file. Unknown keys in the file or in <see cref="Overlay"/> are
/// errors in GenAI, not ignored.
/// </para>
/// <para>Not thread-safe: use an instance from one thread at a time. <see cref="Dispose"/> may be called more than once.</para>
/// </remarks>
internal sealed class GenAiConfig : IDisposable
{
    /// <summary>The file GenAI reads in a model folder.</summary>
    public const string FileName = "genai_config.json";

    private readonly SafeGenAiConfigHandle _handle;
    private bool _disposed;

    private GenAiConfig(SafeGenAiConfigHandle handle, string directory)
    {
        _handle = handle;
        Directory = directory;
    }

    /// <summary>Gets the model folder (full path).</summary>
    public string Directory { get; }

    /// <summary>Gets the owning handle, for calls that take the config.</summary>
    internal SafeGenAiConfigHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle;
        }
    }

    /// <summary>Loads ONNX Runtime and GenAI if needed, and parses a model folder's <c>genai_config.json</c>.</summary>
    /// <param name="directory">The model folder.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">The folder or its <c>genai_config.json</c> does not exist, or GenAI rejects the file; the message names the folder.</exception>
    /// <exception cref="NativeLibraryException">ONNX Runtime or GenAI cannot be loaded.</exception>
    public static GenAiConfig FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);

        // Checked here so that the message names the folder (and GenAI never sees a path that does not exist).
        if (!System.IO.Directory.Exists(full))
        {
            throw new OnnxRuntimeGenAIException($"The GenAI model folder '{full}' does not exist.");
        }

        if (!File.Exists(Path.Combine(full, FileName)))
        {
            throw new OnnxRuntimeGenAIException($"The GenAI model folder '{full}' has no {FileName}.");
        }

        GenAiLibrary.EnsureLoaded();
        GenAiResult.ThrowIfFailed(GenAiNative.CreateConfig(full, out var native), $"Reading the GenAI configuration in '{full}'");
        return new GenAiConfig(SafeGenAiConfigHandle.Adopt(native), full);
    }

    /// <summary>Removes every execution provider from the decoder's session options (CPU remains).</summary>
    /// <exception cref="ObjectDisposedException">The config is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public void ClearProviders() =>
        GenAiResult.ThrowIfFailed(GenAiNative.ConfigClearProviders(Handle), "Clearing the GenAI execution providers");

    /// <summary>Adds an execution provider (for example <c>cuda</c>) to the decoder's session options.</summary>
    /// <param name="provider">The provider's GenAI name.</param>
    /// <exception cref="ArgumentException"><paramref name="provider"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The config is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public void AppendProvider(string provider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        GenAiResult.ThrowIfFailed(GenAiNative.ConfigAppendProvider(Handle, provider), $"Adding the GenAI execution provider '{provider}'");
    }

    /// <summary>Sets one option of an execution provider, adding the provider if needed.</summary>
    /// <param name="provider">The provider's GenAI name.</param>
    /// <param name="key">The option.</param>
    /// <param name="value">Its value.</param>
    /// <exception cref="ArgumentException"><paramref name="provider"/> or <paramref name="key"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The config is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public void SetProviderOption(string provider, string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        GenAiResult.ThrowIfFailed(
            GenAiNative.ConfigSetProviderOption(Handle, provider, key, value),
            $"Setting the GenAI provider option {provider}.{key}");
    }

    /// <summary>Merges a JSON document into the configuration, as if it had been part of <c>genai_config.json</c>.</summary>
    /// <param name="json">For example <c>{"search": {"max_length": 512}}</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="json"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The config is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">The JSON is malformed or has keys GenAI does not know.</exception>
    public void Overlay(string json)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(json);
        GenAiResult.ThrowIfFailed(GenAiNative.ConfigOverlay(Handle, json), $"Applying a GenAI configuration overlay to '{Directory}'");
    }

    /// <summary>Sets the decoder session's intra-op thread count (an overlay of <c>model.decoder.session_options</c>;
    /// the vision and embedding sessions follow the decoder's options unless they have their own).</summary>
    /// <param name="threads">The thread count, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is below 1.</exception>
    public void SetIntraOpThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Overlay("{\"model\":{\"decoder\":{\"session_options\":{\"intra_op_num_threads\":" + threads.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}}}}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }
}
