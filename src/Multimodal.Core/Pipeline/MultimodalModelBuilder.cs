// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Multimodal;

/// <summary>Composes a <see cref="MultimodalModel"/>: a family, a backend, media decoders, token mergers and options.</summary>
/// <remarks>
/// <para><see cref="Build"/> loads nothing: it returns a model whose components are created on the first request or on
/// <see cref="MultimodalModel.LoadAsync"/>. At load, the family configures first, then the backend, then the components
/// set directly on this builder, which override both.</para>
/// <code>
/// var model = new MultimodalModelBuilder()
///     .UseModelPath("models/tiny-llava")
///     .UseFamily(myFamily)
///     .UseBackend(myBackend)
///     .ConfigureGeneration(o => o.MaxNewTokens = 128)
///     .Build();
/// IChatClient chat = model;
/// </code>
/// </remarks>
public sealed class MultimodalModelBuilder
{
    private readonly List<Action<ModelLoadContext>> _components = [];
    private readonly List<Func<ModelLoadContext, CancellationToken, ValueTask>> _loadSteps = [];
    private readonly List<Action<GenerationOptions>> _generation = [];
    private readonly List<Action<MultimodalModelOptions>> _configureOptions = [];
    private IModelFamily? _family;
    private IModelBackend? _backend;
    private ILoggerFactory? _loggerFactory;

    /// <summary>Initializes an empty builder.</summary>
    public MultimodalModelBuilder()
    {
    }

    internal MultimodalModelBuilder(string optionsName) => OptionsName = optionsName;

    /// <summary>Gets the name of the bound <see cref="MultimodalModelOptions"/> when the builder came from dependency injection.</summary>
    internal string? OptionsName { get; }

    /// <summary>Sets the model folder.</summary>
    /// <param name="path">The folder of the checkpoint.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseModelPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ConfigureOptions(o => o.ModelPath = path);
    }

    /// <summary>Sets the model id reported to clients.</summary>
    /// <param name="modelId">The id.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseModelId(string modelId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        return ConfigureOptions(o => o.ModelId = modelId);
    }

    /// <summary>Sets the model family.</summary>
    /// <param name="family">The family.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseFamily(IModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        _family = family;
        return this;
    }

    /// <summary>Sets the inference backend.</summary>
    /// <param name="backend">The backend.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseBackend(IModelBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
        return this;
    }

    /// <summary>Sets the tokenizer.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseTokenizer(ITokenizer tokenizer) => Set(tokenizer, (c, v) => c.Tokenizer = v);

    /// <summary>Sets the tokenizer from a factory run at load time.</summary>
    /// <param name="factory">Creates the tokenizer from the application's services.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseTokenizer(Func<IServiceProvider, ITokenizer> factory) => Set(factory, (c, v) => c.Tokenizer = v);

    /// <summary>Sets the prompt template.</summary>
    /// <param name="template">The template.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UsePromptTemplate(IPromptTemplate template) => Set(template, (c, v) => c.PromptTemplate = v);

    /// <summary>Sets the vision encoder. The model disposes it.</summary>
    /// <param name="encoder">The encoder.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseVisionEncoder(IVisionEncoder encoder) => Set(encoder, (c, v) => c.VisionEncoder = v);

    /// <summary>Sets the vision encoder from a factory run at load time. The model disposes it.</summary>
    /// <param name="factory">Creates the encoder.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseVisionEncoder(Func<IServiceProvider, IVisionEncoder> factory) => Set(factory, (c, v) => c.VisionEncoder = v);

    /// <summary>Sets the language decoder. The model disposes it.</summary>
    /// <param name="decoder">The decoder.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseLanguageDecoder(ILanguageDecoder decoder) => Set(decoder, (c, v) => c.LanguageDecoder = v);

    /// <summary>Sets the language decoder from a factory run at load time. The model disposes it.</summary>
    /// <param name="factory">Creates the decoder.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseLanguageDecoder(Func<IServiceProvider, ILanguageDecoder> factory) => Set(factory, (c, v) => c.LanguageDecoder = v);

    /// <summary>Sets the image splitter.</summary>
    /// <param name="splitter">The splitter.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseImageSplitter(IImageSplitter splitter) => Set(splitter, (c, v) => c.ImageSplitter = v);

    /// <summary>Sets the image processor.</summary>
    /// <param name="processor">The processor.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseImageProcessor(IImageProcessor processor) => Set(processor, (c, v) => c.ImageProcessor = v);

    /// <summary>Sets a token merger.</summary>
    /// <param name="merger">The merger.</param>
    /// <param name="placement">Whether it runs on each view's output (the default) or inside the encoder's layers.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseTokenMerger(ITokenMerger merger, TokenMergerPlacement placement = TokenMergerPlacement.AfterEncoder) =>
        placement == TokenMergerPlacement.AfterEncoder
            ? Set(merger, (c, v) => c.TokenMerger = v)
            : Set(merger, (c, v) => c.LayerTokenMerger = v);

    /// <summary>Sets the image decoder.</summary>
    /// <param name="decoder">The decoder.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseImageDecoder(IImageDecoder decoder) => Set(decoder, (c, v) => c.ImageDecoder = v);

    /// <summary>Sets the PDF rasteriser.</summary>
    /// <param name="rasterizer">The rasteriser.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UsePdfRasterizer(IPdfRasterizer rasterizer) => Set(rasterizer, (c, v) => c.PdfRasterizer = v);

    /// <summary>Sets the video frame source.</summary>
    /// <param name="source">The frame source.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseVideoFrameSource(IVideoFrameSource source) => Set(source, (c, v) => c.VideoFrameSource = v);

    /// <summary>Sets the logger factory for load and generation events (otherwise taken from the services at build time).</summary>
    /// <param name="loggerFactory">The factory.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Adjusts the model's default generation settings (applied over the family's defaults).</summary>
    /// <param name="configure">Sets options.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder ConfigureGeneration(Action<GenerationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _generation.Add(configure);
        return this;
    }

    /// <summary>Adjusts model options (applied over the bound configuration, if any).</summary>
    /// <param name="configure">Sets options.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder ConfigureOptions(Action<MultimodalModelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configureOptions.Add(configure);
        return this;
    }

    /// <summary>Adds a custom step that runs during loading, after the family and backend.</summary>
    /// <param name="step">The step; it may read and set any component on the context.</param>
    /// <returns>This builder.</returns>
    public MultimodalModelBuilder AddLoadStep(Func<ModelLoadContext, CancellationToken, ValueTask> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _loadSteps.Add(step);
        return this;
    }

    /// <summary>Creates the model. Nothing is loaded until the first request or <see cref="MultimodalModel.LoadAsync"/>.</summary>
    /// <param name="services">Services for factories, logging and bound options; <see langword="null"/> for none.</param>
    /// <returns>The model.</returns>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public MultimodalModel Build(IServiceProvider? services = null)
    {
        services ??= EmptyServiceProvider.Instance;
        var options = new MultimodalModelOptions();
        if (OptionsName is not null && services.GetService(typeof(IOptionsMonitor<MultimodalModelOptions>)) is IOptionsMonitor<MultimodalModelOptions> monitor)
        {
            options = Copy(monitor.Get(OptionsName));
        }

        foreach (var c in _configureOptions)
        {
            c(options);
        }

        var validation = new MultimodalModelOptionsValidator().Validate(OptionsName ?? Options.DefaultName, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(OptionsName ?? Options.DefaultName, typeof(MultimodalModelOptions), validation.Failures);
        }

        var loggerFactory = _loggerFactory ?? services.GetService(typeof(ILoggerFactory)) as ILoggerFactory;
        var definition = new ModelDefinition(options, _family, _backend, [.. _components], [.. _loadSteps], [.. _generation]);
        return new MultimodalModel(definition, services, loggerFactory);
    }

    private MultimodalModelBuilder Set<T>(T value, Action<ModelLoadContext, T> assign)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(value);
        _components.Add(c => assign(c, value));
        return this;
    }

    private MultimodalModelBuilder Set<T>(Func<IServiceProvider, T> factory, Action<ModelLoadContext, T> assign)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        _components.Add(c => assign(c, factory(c.Services) ?? throw new InvalidOperationException($"The {typeof(T).Name} factory returned null.")));
        return this;
    }

    private static MultimodalModelOptions Copy(MultimodalModelOptions o) => new()
    {
        ModelId = o.ModelId,
        ModelPath = o.ModelPath,
        MaxConcurrentRequests = o.MaxConcurrentRequests,
        MaxImagesPerRequest = o.MaxImagesPerRequest,
        MaxPdfPagesPerRequest = o.MaxPdfPagesPerRequest,
        MaxVideoFramesPerRequest = o.MaxVideoFramesPerRequest,
        DefaultVideoFrames = o.DefaultVideoFrames,
        DefaultPdfZoom = o.DefaultPdfZoom,
        MaxNewTokens = o.MaxNewTokens,
        Temperature = o.Temperature,
        TopP = o.TopP,
        LoadOnStart = o.LoadOnStart,
    };
}

/// <summary>Where a token merger runs.</summary>
public enum TokenMergerPlacement
{
    /// <summary>On each view's embeddings after the vision encoder.</summary>
    AfterEncoder,

    /// <summary>Inside the vision encoder's layers (the encoder must support it).</summary>
    InEncoderLayers,
}

/// <summary>Everything <see cref="MultimodalModel"/> needs to load itself.</summary>
internal sealed record ModelDefinition(
    MultimodalModelOptions Options,
    IModelFamily? Family,
    IModelBackend? Backend,
    IReadOnlyList<Action<ModelLoadContext>> Components,
    IReadOnlyList<Func<ModelLoadContext, CancellationToken, ValueTask>> LoadSteps,
    IReadOnlyList<Action<GenerationOptions>> Generation);
