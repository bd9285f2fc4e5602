// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

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
}
