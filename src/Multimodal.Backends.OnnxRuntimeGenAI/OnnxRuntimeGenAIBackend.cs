// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>
/// The ONNX Runtime GenAI backend for <see cref="MultimodalModelBuilder.UseBackend"/>: the language decoder runs in
/// ONNX Runtime GenAI from the model folder's <c>onnx/genai_config.json</c>; the vision encoder
/// (<c>onnx/vision_encoder.onnx</c>) runs in ONNX Runtime and its rows reach GenAI through a pass-through vision graph.
/// </summary>
/// <param name="options">Folder, threads and provider, or <see langword="null"/> for the defaults (CPU).</param>
/// <remarks>The layout, and why it looks the way it does, is in docs/backends.md.</remarks>
public sealed class OnnxRuntimeGenAIBackend(OnnxRuntimeGenAIBackendOptions? options = null) : IModelBackend
{
    private readonly OnnxRuntimeGenAIBackendOptions _options = options ?? new();

    /// <inheritdoc />
    public string Name => "onnxruntime-genai";

    /// <inheritdoc />
    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = context.ModelPath ?? throw new ModelLoadException("The ONNX Runtime GenAI backend loads a model folder's genai_config.json; no model folder was given (UseModelPath).");
        var onnx = Path.GetFullPath(Path.Combine(folder, _options.OnnxFolder));
        var config = JsonConfig.ReadFile(onnx, "genai_config.json")
            ?? throw new ModelLoadException($"'{onnx}' has no genai_config.json. Export the model for ONNX Runtime GenAI (eng/onnx/export.py for the bundled models; docs/backends.md describes the layout) or set OnnxRuntimeGenAIBackendOptions.OnnxFolder.", folder);
        var model = config.Section("model") ?? throw new ModelLoadException($"'{Path.Combine(onnx, "genai_config.json")}' has no \"model\" object.", folder);
        var decoderSection = model.Section("decoder") ?? throw new ModelLoadException($"'{Path.Combine(onnx, "genai_config.json")}' has no model.decoder object.", folder);
        var vocab = model.Int("vocab_size", 0);
        var context_ = model.Int("context_length", 0);
        var hidden = decoderSection.Int("hidden_size", 0);
        if (vocab <= 0 || context_ <= 0 || hidden <= 0)
        {
            throw new ModelLoadException($"'{Path.Combine(onnx, "genai_config.json")}' must give model.vocab_size, model.context_length and model.decoder.hidden_size.", folder);
        }

        if (model.String("type") is not ("gemma3" or "gemma4" or "phi4mm" or "mistral3" or "videochat_flash_qwen"))
        {
            throw new ModelLoadException($"'{Path.Combine(onnx, "genai_config.json")}' has model.type \"{model.String("type")}\"; this backend drives GenAI's generic multimodal pipeline and needs \"gemma3\" (see docs/backends.md).", folder);
        }

        context.Report("Loading ONNX Runtime GenAI model", 0);
        OrtSession? vision = null;
        GenAiModel? genai = null;
        try
        {
            var visionPath = Path.Combine(onnx, "vision_encoder.onnx");
            if (File.Exists(visionPath))
            {
                vision = OnnxModelFiles.CreateSession(visionPath, _options.VisionSession, folder);
            }

            cancellationToken.ThrowIfCancellationRequested();
            genai = OpenModel(onnx, folder);

            var provider = "onnxruntime-genai:" + _options.ExecutionProvider.ToString().ToLowerInvariant();
            context.LanguageDecoder = new GenAILanguageDecoder(genai, vocab, context_, hidden, provider);
            genai = null;
            context.VisionEncoder = vision is null ? null : new OnnxVisionEncoder(vision, OnnxModelFiles.ReadPatchSize(folder, JsonConfig.ReadFile(folder, "config.json"), fallback: 14), _options.VisionBatchSize, OnnxRuntimeBackend.ProviderName(_options.VisionSession));
            vision = null;
            context.Report("Loading ONNX Runtime GenAI model", 1);
            return ValueTask.CompletedTask;
        }
        finally
        {
            genai?.Dispose();
            vision?.Dispose();
        }
    }

    /// <summary>Opens the GenAI model with the options applied, reporting a folder GenAI cannot load as a <see cref="ModelLoadException"/>.</summary>
    private GenAiModel OpenModel(string onnx, string folder)
    {
        try
        {
            using var genaiConfig = GenAiConfig.FromDirectory(onnx);
            if (_options.IntraOpThreads > 0)
            {
                genaiConfig.SetIntraOpThreads(_options.IntraOpThreads);
            }

            if (_options.ExecutionProvider == OnnxRuntimeExecutionProvider.Cuda)
            {
                genaiConfig.ClearProviders();
                genaiConfig.AppendProvider("cuda");
                genaiConfig.SetProviderOption("cuda", "device_id", _options.CudaDeviceId.ToString(CultureInfo.InvariantCulture));
            }

            return GenAiModel.Create(genaiConfig);
        }
        catch (OnnxRuntimeGenAIException ex)
        {
            // IModelBackend.LoadAsync promises ModelLoadException for weights that are missing or malformed; GenAI's
            // message names the graph it could not load.
            throw new ModelLoadException($"ONNX Runtime GenAI could not load the model in '{onnx}': {ex.Message}", folder, ex);
        }
    }
}
