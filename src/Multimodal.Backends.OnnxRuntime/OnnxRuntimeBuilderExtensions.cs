// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Multimodal.Backends.OnnxRuntime;

namespace Multimodal;

/// <summary>Builder extensions for the ONNX Runtime backend.</summary>
public static class OnnxRuntimeBuilderExtensions
{
    /// <summary>Runs the model's vision encoder and language decoder with ONNX Runtime, from the model folder's ONNX export.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets files, variant and session options; <see langword="null"/> for the defaults (CPU, plain files).</param>
    /// <returns>The builder, for chaining.</returns>
    public static MultimodalModelBuilder UseOnnxRuntime(this MultimodalModelBuilder builder, Action<OnnxRuntimeBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new OnnxRuntimeBackendOptions();
        configure?.Invoke(options);
        return builder.UseBackend(new OnnxRuntimeBackend(options));
    }

    /// <summary>Runs the model with ONNX Runtime, with options bound from a configuration section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section, for example <c>Multimodal:OnnxRuntime</c>: the keys of <see cref="OnnxRuntimeBackendOptions"/>
    /// (<c>OnnxFolder</c>, <c>Variant</c>, <c>FileVariants</c>, <c>VisionBatchSize</c>, <c>LoadVisionEncoder</c>), a <c>Session</c>
    /// section with the keys of <see cref="OnnxRuntimeSessionOptions"/> (enums by name), and <c>NativeLibraryDirectory</c> or
    /// <c>NativeLibraryPath</c> for <see cref="OnnxRuntimeLibraryOptions.Shared"/>. Keys left out keep their defaults.</param>
    /// <param name="configure">Adjusts the bound options (it runs after binding, so it wins); <see langword="null"/> for none.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is null.</exception>
    /// <exception cref="OptionsValidationException">A key is unknown or a value is invalid (a negative thread count, a batch
    /// size below 1, a variant with path characters, an unknown provider…); the message names each such key by its full path.</exception>
    /// <exception cref="InvalidOperationException">A native-library key differs from the shared options after ONNX Runtime has already loaded.</exception>
    /// <remarks>
    /// The section is read once, when this method runs (nothing loads then): the backend options are checked at
    /// registration, before the host starts, and the native-library keys are applied to the process-wide
    /// <see cref="OnnxRuntimeLibraryOptions.Shared"/> right away, because they must be set before the first session is created.
    /// The JSON shape is in docs/backends.md ("Configuration").
    /// <code>
    /// // appsettings.json: { "Multimodal": { "ModelPath": "models/llava-tiny",
    /// //   "OnnxRuntime": { "Variant": "q4", "Session": { "IntraOpThreads": 4, "ExecutionProvider": "Cuda" } } } }
    /// var section = builder.Configuration.GetSection("Multimodal");
    /// builder.Services.AddMultimodalModel(section)
    ///     .UseLlava()
    ///     .UseOnnxRuntime(section.GetSection("OnnxRuntime"));
    /// </code>
    /// </remarks>
    public static MultimodalModelBuilder UseOnnxRuntime(this MultimodalModelBuilder builder, IConfiguration configuration, Action<OnnxRuntimeBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = OnnxRuntimeConfiguration.Bind(configuration);
        configure?.Invoke(options);
        return builder.UseBackend(new OnnxRuntimeBackend(options));
    }
}
