// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

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
}
