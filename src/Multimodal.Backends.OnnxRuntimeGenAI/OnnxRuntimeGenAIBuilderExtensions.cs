// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI;

namespace Multimodal;

/// <summary>Builder extensions for the ONNX Runtime GenAI backend.</summary>
public static class OnnxRuntimeGenAIBuilderExtensions
{
    /// <summary>Runs the model's language decoder in ONNX Runtime GenAI (and its vision encoder in ONNX Runtime), from the model folder's <c>onnx/genai_config.json</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the folder, threads and provider; <see langword="null"/> for the defaults (CPU).</param>
    /// <returns>The builder, for chaining.</returns>
    public static MultimodalModelBuilder UseOnnxRuntimeGenAI(this MultimodalModelBuilder builder, Action<OnnxRuntimeGenAIBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new OnnxRuntimeGenAIBackendOptions();
        configure?.Invoke(options);
        return builder.UseBackend(new OnnxRuntimeGenAIBackend(options));
    }

    /// <summary>Runs the model's language decoder in ONNX Runtime GenAI, with options bound from a configuration section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section, for example <c>Multimodal:OnnxRuntimeGenAI</c>: the keys of <see cref="OnnxRuntimeGenAIBackendOptions"/>
    /// (<c>OnnxFolder</c>, <c>IntraOpThreads</c>, <c>ExecutionProvider</c> by name, <c>CudaDeviceId</c>, <c>VisionBatchSize</c>), a
    /// <c>VisionSession</c> section with the keys of <see cref="OnnxRuntimeSessionOptions"/>, and <c>NativeLibraryDirectory</c>
    /// (added to the search directories of both <see cref="OnnxRuntimeGenAILibraryOptions.Shared"/> and
    /// <see cref="OnnxRuntimeLibraryOptions.Shared"/>) or <c>NativeLibraryPath</c> (GenAI's own file). Keys left out keep their defaults.</param>
    /// <param name="configure">Adjusts the bound options (it runs after binding, so it wins); <see langword="null"/> for none.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is null.</exception>
    /// <exception cref="OptionsValidationException">A key is unknown or a value is invalid; the message names each such key by its full path.</exception>
    /// <exception cref="InvalidOperationException">A native-library key differs from the shared options after the library has already loaded.</exception>
    /// <remarks>
    /// The section is read once, when this method runs (nothing loads then); the native-library keys are applied to the
    /// process-wide options right away. The JSON shape is in docs/backends.md ("Configuration").
    /// </remarks>
    public static MultimodalModelBuilder UseOnnxRuntimeGenAI(this MultimodalModelBuilder builder, IConfiguration configuration, Action<OnnxRuntimeGenAIBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = OnnxRuntimeGenAIConfiguration.Bind(configuration);
        configure?.Invoke(options);
        return builder.UseBackend(new OnnxRuntimeGenAIBackend(options));
    }
}
