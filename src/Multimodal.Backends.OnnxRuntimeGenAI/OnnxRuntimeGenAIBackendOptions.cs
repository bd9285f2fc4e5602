// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Options of <see cref="OnnxRuntimeGenAIBackend"/>.</summary>
public sealed class OnnxRuntimeGenAIBackendOptions
{
    /// <summary>Gets or sets the folder with <c>genai_config.json</c> and the graphs it names: relative to the model folder, or absolute.</summary>
    /// <value>The default is <c>onnx</c>.</value>
    public string OnnxFolder { get; set; } = "onnx";

    /// <summary>Gets or sets the intra-op thread count of GenAI's sessions; 0 keeps genai_config.json's value (GenAI's
    /// own default is half the cores, at most 16).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Gets or sets the execution provider GenAI runs the decoder on.</summary>
    /// <value>The default is <see cref="OnnxRuntimeExecutionProvider.Cpu"/>.</value>
    public OnnxRuntimeExecutionProvider ExecutionProvider { get; set; } = OnnxRuntimeExecutionProvider.Cpu;

    /// <summary>Gets or sets the CUDA device for <see cref="OnnxRuntimeExecutionProvider.Cuda"/>.</summary>
    public int CudaDeviceId { get; set; }

    /// <summary>Gets or sets the ONNX Runtime session options of the vision encoder (<c>vision_encoder.onnx</c>), which runs in
    /// plain ONNX Runtime: GenAI receives its output rows.</summary>
    public OnnxRuntimeSessionOptions VisionSession { get; set; } = new();

    /// <summary>Gets or sets the most views the vision encoder runs in one batch.</summary>
    /// <value>The default is 8.</value>
    public int VisionBatchSize { get; set; } = 8;
}
