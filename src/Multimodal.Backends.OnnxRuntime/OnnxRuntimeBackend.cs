// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>
/// The ONNX Runtime backend for <see cref="MultimodalModelBuilder.UseBackend"/>: loads a model folder's ONNX export
/// (<c>onnx/vision_encoder.onnx</c>, <c>embed_tokens.onnx</c>, <c>decoder_model_merged.onnx</c>) and provides its vision
/// encoder and language decoder. The family package still supplies the tokenizer, prompt template and preprocessing.
/// </summary>
/// <remarks>
/// Loading throws <see cref="ModelLoadException"/> for a missing folder or graph and for a graph ONNX Runtime cannot
/// load (a damaged file, or an execution provider that cannot be enabled), with ONNX Runtime's
/// <see cref="OnnxRuntimeException"/> as the inner exception; sessions opened before the failure are released.
/// </remarks>
/// <param name="options">Files, variant and session options, or <see langword="null"/> for the defaults (CPU, plain files).</param>
/// <example>
/// <code>
/// var model = new MultimodalModelBuilder()
///     .UseModelPath("models/llava-tiny")
///     .UseLlava()
///     .UseOnnxRuntime(o => o.Session.IntraOpThreads = 4)
///     .Build();
/// </code>
/// </example>
public sealed class OnnxRuntimeBackend(OnnxRuntimeBackendOptions? options = null) : IModelBackend
{
    private readonly OnnxRuntimeBackendOptions _options = options ?? new();

    /// <inheritdoc />
    public string Name => "onnxruntime";

    /// <inheritdoc />
    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = context.ModelPath ?? throw new ModelLoadException("The ONNX Runtime backend loads a model folder's ONNX export; no model folder was given (UseModelPath).");
        var files = OnnxModelFiles.Open(folder, _options);
        var provider = ProviderName(_options.Session);
        context.Report("Loading ONNX graphs", 0);
        var sessions = new List<OrtSession>();
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var embed = Open(files, OnnxModelFiles.EmbedTokens, sessions);
            var decoder = Open(files, OnnxModelFiles.Decoder, sessions);
            context.Report("Loading ONNX graphs", 0.6);
            OrtSession? vision = null;
            if (_options.LoadVisionEncoder && files.Find(OnnxModelFiles.VisionEncoder, _options, required: false) is { } visionPath)
            {
                cancellationToken.ThrowIfCancellationRequested();
                vision = OnnxModelFiles.CreateSession(visionPath, _options.Session, folder);
                sessions.Add(vision);
            }

            var languageDecoder = new OnnxLanguageDecoder(embed, decoder, files.ContextLength(fallback: 2048), provider);
            context.LanguageDecoder = languageDecoder;
            context.VisionEncoder = vision is null ? null : new OnnxVisionEncoder(vision, files.PatchSize(fallback: 14), _options.VisionBatchSize, provider);
            context.Report("Loading ONNX graphs", 1);
            return ValueTask.CompletedTask;
        }
        catch
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }

            context.LanguageDecoder = null;
            context.VisionEncoder = null;
            throw;
        }
    }

    /// <summary>Names the backend and its execution provider for metadata (<c>onnxruntime:cpu</c>, <c>onnxruntime:cuda</c>).</summary>
    internal static string ProviderName(OnnxRuntimeSessionOptions session) =>
        "onnxruntime:" + session.ExecutionProvider.ToString().ToLowerInvariant();

    private OrtSession Open(OnnxModelFiles files, string stem, List<OrtSession> sessions)
    {
        var path = files.Find(stem, _options, required: true)!;
        var session = OnnxModelFiles.CreateSession(path, _options.Session, files.Folder);
        sessions.Add(session);
        return session;
    }
}
