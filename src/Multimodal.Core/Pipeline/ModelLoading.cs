// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Multimodal;

/// <summary>A model family package: knows its checkpoints, prompt format, preprocessing and reference generation defaults.</summary>
/// <remarks>Families are stateless singletons. During loading a family fills a <see cref="ModelLoadContext"/>; a backend then loads weights for it.</remarks>
public interface IModelFamily
{
    /// <summary>Gets the family's name (for example <c>llava</c>).</summary>
    string Name { get; }

    /// <summary>Tells whether a model folder belongs to this family (usually from <c>config.json</c>).</summary>
    /// <param name="folder">The model folder's description.</param>
    /// <returns>Whether the family can load it.</returns>
    bool CanLoad(ModelFolder folder);

    /// <summary>Sets the family's components (template, splitter, processor, tokenizer, defaults) on the context.</summary>
    /// <param name="context">The load in progress.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>A task that completes when the family is configured.</returns>
    /// <exception cref="ModelLoadException">The folder's configuration is invalid or unsupported.</exception>
    ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken);
}

/// <summary>An inference backend: loads the vision encoder and language decoder for a model (managed CPU, ONNX Runtime, …).</summary>
public interface IModelBackend
{
    /// <summary>Gets the backend's name (for example <c>managed</c>).</summary>
    string Name { get; }

    /// <summary>Loads weights and sets <see cref="ModelLoadContext.VisionEncoder"/> and <see cref="ModelLoadContext.LanguageDecoder"/>.</summary>
    /// <param name="context">The load in progress, already configured by the family.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>A task that completes when the components are loaded.</returns>
    /// <exception cref="ModelLoadException">Weights are missing, malformed or do not match the configuration.</exception>
    ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken);
}

/// <summary>A progress report of a long operation (model load, quantization, PDF or video ingestion).</summary>
/// <param name="Stage">What is happening, for example <c>Loading weights</c>.</param>
/// <param name="Fraction">Completion in [0, 1], or <see langword="null"/> when unknown.</param>
public sealed record ProgressReport(string Stage, double? Fraction = null);

/// <summary>The state of a model load: what families and backends read and fill in.</summary>
/// <remarks>Not thread-safe; one load runs at a time.</remarks>
public sealed class ModelLoadContext
{
    internal ModelLoadContext(string? modelPath, IServiceProvider services, ILogger logger, IProgress<ProgressReport>? progress, MultimodalModelOptions options)
    {
        ModelPath = modelPath;
        Services = services;
        Logger = logger;
        Progress = progress;
        Options = options;
    }

    /// <summary>Gets the model folder, if the model has one.</summary>
    public string? ModelPath { get; }

    /// <summary>Gets the application's services (or an empty provider).</summary>
    public IServiceProvider Services { get; }

    /// <summary>Gets a logger for load events.</summary>
    public ILogger Logger { get; }

    /// <summary>Gets the caller's progress sink, if any.</summary>
    public IProgress<ProgressReport>? Progress { get; }

    /// <summary>Gets the model's options.</summary>
    public MultimodalModelOptions Options { get; }

    /// <summary>Gets or sets the tokenizer.</summary>
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>Gets or sets the prompt template.</summary>
    public IPromptTemplate? PromptTemplate { get; set; }

    /// <summary>Gets or sets the vision encoder (none for text-only use).</summary>
    public IVisionEncoder? VisionEncoder { get; set; }

    /// <summary>Gets or sets the language decoder.</summary>
    public ILanguageDecoder? LanguageDecoder { get; set; }

    /// <summary>Gets or sets the image splitter (none: every image is one view).</summary>
    public IImageSplitter? ImageSplitter { get; set; }

    /// <summary>Gets or sets the image processor that turns views into pixel tensors.</summary>
    public IImageProcessor? ImageProcessor { get; set; }

    /// <summary>Gets or sets a token merger applied to each view's embeddings after the encoder.</summary>
    public ITokenMerger? TokenMerger { get; set; }

    /// <summary>Gets or sets a token merger the encoder applies inside its layers.</summary>
    public ITokenMerger? LayerTokenMerger { get; set; }

    /// <summary>Gets or sets the image decoder.</summary>
    public IImageDecoder? ImageDecoder { get; set; }

    /// <summary>Gets or sets the PDF rasteriser.</summary>
    public IPdfRasterizer? PdfRasterizer { get; set; }

    /// <summary>Gets or sets the video frame source.</summary>
    public IVideoFrameSource? VideoFrameSource { get; set; }

    /// <summary>Gets the model's default generation settings, which the family fills from its reference code.</summary>
    public GenerationOptions GenerationDefaults { get; } = new();

    /// <summary>Gets free-form values a family hands to a backend (for example an architecture description).</summary>
    public IDictionary<string, object?> Properties { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Gets the steps a family asked to run once the backend has loaded (for example wrapping the vision encoder).</summary>
    internal List<Func<ModelLoadContext, CancellationToken, ValueTask>> PostLoadSteps { get; } = [];

    /// <summary>Adds a step that runs after the backend has loaded the encoder and decoder (and after components set on
    /// the builder), before the builder's own load steps: a family uses it to adapt the loaded components, for example
    /// to wrap the vision encoder so that per-view inputs reach it.</summary>
    /// <param name="step">The step; it may read and replace any component.</param>
    public void AddPostLoadStep(Func<ModelLoadContext, CancellationToken, ValueTask> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        PostLoadSteps.Add(step);
    }

    /// <summary>Reports progress to the caller's sink, if any.</summary>
    /// <param name="stage">What is happening.</param>
    /// <param name="fraction">Completion in [0, 1], or <see langword="null"/>.</param>
    public void Report(string stage, double? fraction = null) => Progress?.Report(new ProgressReport(stage, fraction));

    internal static ModelLoadContext ForTests() => new(null, EmptyServiceProvider.Instance, NullLogger.Instance, null, new MultimodalModelOptions());
}

/// <summary>The loaded parts of a model.</summary>
/// <param name="Tokenizer">The tokenizer.</param>
/// <param name="PromptTemplate">The prompt template.</param>
/// <param name="LanguageDecoder">The language decoder.</param>
/// <param name="VisionEncoder">The vision encoder, or <see langword="null"/> for a text-only model.</param>
/// <param name="ImageSplitter">The splitter, or <see langword="null"/> (one view per image).</param>
/// <param name="ImageProcessor">The pixel preprocessor.</param>
/// <param name="TokenMerger">The after-encoder merger, or <see langword="null"/>.</param>
/// <param name="LayerTokenMerger">The in-encoder merger, or <see langword="null"/>.</param>
/// <param name="ImageDecoder">The image decoder, or <see langword="null"/>.</param>
/// <param name="PdfRasterizer">The PDF rasteriser, or <see langword="null"/>.</param>
/// <param name="VideoFrameSource">The video reader, or <see langword="null"/>.</param>
/// <param name="GenerationDefaults">The model's generation defaults.</param>
public sealed record ModelComponents(
    ITokenizer Tokenizer,
    IPromptTemplate PromptTemplate,
    ILanguageDecoder LanguageDecoder,
    IVisionEncoder? VisionEncoder,
    IImageSplitter? ImageSplitter,
    IImageProcessor? ImageProcessor,
    ITokenMerger? TokenMerger,
    ITokenMerger? LayerTokenMerger,
    IImageDecoder? ImageDecoder,
    IPdfRasterizer? PdfRasterizer,
    IVideoFrameSource? VideoFrameSource,
    GenerationOptions GenerationDefaults);

/// <summary>An <see cref="IServiceProvider"/> with no services, used when none is given.</summary>
internal sealed class EmptyServiceProvider : IServiceProvider
{
    public static EmptyServiceProvider Instance { get; } = new();

    public object? GetService(Type serviceType) => null;
}
