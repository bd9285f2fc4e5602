// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Options of <see cref="OnnxRuntimeBackend"/>: where the ONNX files are, which variant to load, and how sessions run.</summary>
/// <remarks>
/// <para>
/// The backend reads the layout optimum and transformers.js export for image-text-to-text models: a folder (default
/// <c>onnx</c>, inside the model folder) with <c>vision_encoder.onnx</c>, <c>embed_tokens.onnx</c> and
/// <c>decoder_model_merged.onnx</c>. Quantized or half-precision exports sit next to them with a suffix
/// (<c>decoder_model_merged_quantized.onnx</c>, <c>_fp16</c>, <c>_int8</c>, <c>_q4</c>, …); <see cref="Variant"/> picks one
/// for every file, <see cref="FileVariants"/> per file.
/// </para>
/// </remarks>
public sealed class OnnxRuntimeBackendOptions
{
    /// <summary>Gets or sets the folder with the ONNX files: relative to the model folder, or absolute.</summary>
    /// <value>The default is <c>onnx</c>.</value>
    public string OnnxFolder { get; set; } = "onnx";

    /// <summary>Gets or sets the file-name suffix to load for every graph (for example <c>quantized</c> loads
    /// <c>decoder_model_merged_quantized.onnx</c>); <see langword="null"/> or empty for the plain files.</summary>
    public string? Variant { get; set; }

    /// <summary>Gets the suffix per graph (<c>vision_encoder</c>, <c>embed_tokens</c>, <c>decoder_model_merged</c>), overriding <see cref="Variant"/>.</summary>
    public IDictionary<string, string> FileVariants { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets or sets the session options: threads, optimization level, execution provider.</summary>
    public OnnxRuntimeSessionOptions Session { get; set; } = new();

    /// <summary>Gets or sets the most views the vision encoder runs in one batch.</summary>
    /// <value>The default is 8.</value>
    public int VisionBatchSize { get; set; } = 8;

    /// <summary>Gets or sets whether to load the vision encoder; <see langword="false"/> loads the decoder only (text prompts).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool LoadVisionEncoder { get; set; } = true;
}
