// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Preprocessing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.AuroraCap;

/// <summary>The AuroraCap family (rese1f/aurora; wchai/AuroraCap-7B-IMG and -VID in the xtuner layout): a Vicuna
/// (Llama) language model, a CLIP ViT-H/14-378 tower with ToMe token merging in every layer, and a two-layer projector.</summary>
/// <remarks>
/// <para>Detection: the xtuner layout, that is <c>visual_encoder/config.json</c> and <c>projector/config.json</c> next
/// to a root <c>config.json</c> of <c>model_type</c> <c>llama</c>.</para>
/// <para>Configures: the tokenizer of the root folder; a <see cref="ClipImagePreprocessor"/> (splitter and processor)
/// sized from <c>visual_encoder/preprocessor_config.json</c> (<c>size.shortest_edge</c>, <c>crop_size</c>,
/// <c>image_mean</c>, <c>image_std</c>; else <c>visual_encoder/config.json</c> <c>image_size</c>, else 378) with the
/// tower's patch size; the <see cref="AuroraCapPromptTemplate"/>; and the generation defaults of the reference
/// <c>inference.py</c> (greedy, one beam, 2048 new tokens).</para>
/// <para>Token merging: the model-level default of the kept-token ratio goes into
/// <see cref="GenerationOptions.AdditionalProperties"/> under <see cref="TokenKeptRatioKey"/>. The pipeline passes a
/// request's <see cref="GenerationOptions.AdditionalProperties"/> (merged over these defaults) to the vision encoder,
/// so a request overrides the ratio per call; the managed backend's AuroraCap encoder turns it into ToMe's r =
/// int(patches · (1 − ratio) / layers) merges in each layer. The reference recommends 0.2–0.4 for captioning, at
/// least 0.5 for visual question answering and at least 0.8 for OCR; its <c>inference.py</c> defaults to 0.8, its
/// Gradio demo and README to 0.2, which is this family's default (<see cref="DefaultTokenKeptRatio"/>). Fewer kept
/// tokens are faster and fit more frames; more keep detail. A ratio already on the context's defaults when the family
/// configures (set by a family or step that ran first) is kept, after the same validation.</para>
/// <code>
/// var model = new MultimodalModelBuilder()
///     .UseModelPath("AuroraCap-7B-VID-xtuner")
///     .UseAuroraCap(tokenKeptRatio: 0.2)
///     .UseBackend(new ManagedBackend())
///     .Build();
/// // Per request: new GenerationOptions { AdditionalProperties = new Dictionary&lt;string, object?&gt; { [AuroraCapFamily.TokenKeptRatioKey] = 0.8 } }
/// </code>
/// <para>Thread-safety: immutable; instances may be shared.</para>
/// </remarks>
public sealed class AuroraCapFamily : IModelFamily
{
    /// <summary>The option key of the kept-token ratio (<c>token_kept_ratio</c>), read by the vision encoder.</summary>
    public const string TokenKeptRatioKey = "token_kept_ratio";

    /// <summary>The default kept-token ratio: 0.2, the README's and the Gradio demo's captioning value.</summary>
    public const double DefaultTokenKeptRatio = 0.2;

    /// <summary>The image side used when neither the preprocessor config nor the tower config gives one.</summary>
    public const int DefaultImageSize = 378;

    /// <summary>The patch size used when the tower config does not give one.</summary>
    public const int DefaultPatchSize = 14;

    /// <summary>The tower depth used for token counts when the tower config does not give one (DFN5B CLIP ViT-H/14-378).</summary>
    private const int DefaultTowerLayers = 32;

    /// <summary>Initializes the family with a model-level kept-token ratio.</summary>
    /// <param name="tokenKeptRatio">The share of visual tokens ToMe keeps, in (0, 1]; see the class remarks for the reference's ranges.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenKeptRatio"/> is not in (0, 1].</exception>
    public AuroraCapFamily(double tokenKeptRatio = DefaultTokenKeptRatio)
    {
        TokenKeptRatio = ValidateRatio(tokenKeptRatio, nameof(tokenKeptRatio));
    }

    /// <summary>Gets the family with the default ratio (<see cref="DefaultTokenKeptRatio"/>).</summary>
    public static AuroraCapFamily Instance { get; } = new();

    /// <summary>Gets the model-level kept-token ratio.</summary>
    /// <value>The default is <see cref="DefaultTokenKeptRatio"/> (0.2).</value>
    public double TokenKeptRatio { get; }

    /// <inheritdoc />
    public string Name => "auroracap";

    /// <summary>Reads a kept-token ratio from family options, such as <see cref="GenerationOptions.AdditionalProperties"/>.</summary>
    /// <param name="properties">The options, or <see langword="null"/>.</param>
    /// <param name="fallback">The ratio when the options have none.</param>
    /// <returns>The ratio under <see cref="TokenKeptRatioKey"/>, or <paramref name="fallback"/>.</returns>
    /// <exception cref="ArgumentException">The value is neither a number nor a string holding one.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The value is not in (0, 1].</exception>
    public static double GetTokenKeptRatio(IEnumerable<KeyValuePair<string, object?>>? properties, double fallback = DefaultTokenKeptRatio)
    {
        object? value = null;
        foreach (var (key, v) in properties ?? [])
        {
            if (key == TokenKeptRatioKey)
            {
                value = v;
            }
        }

        var ratio = value is null ? fallback
            : OptionValues.TryConvertToDouble(value, out var number) ? number
            : throw new ArgumentException($"The {TokenKeptRatioKey} option must be a number in (0, 1]; it is {value} ({value.GetType().Name}).", nameof(properties));
        return ValidateRatio(ratio, TokenKeptRatioKey);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    public bool CanLoad(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return folder.ModelType == "llama"
            && File.Exists(Path.Combine(folder.Path, "visual_encoder", "config.json"))
            && File.Exists(Path.Combine(folder.Path, "projector", "config.json"));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    /// <exception cref="ModelLoadException">There is no model folder, it is not in AuroraCap's xtuner layout, it has no tokenizer, a configuration value is invalid, or a kept-token ratio already set on the defaults is not in (0, 1].</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = ModelFolder.Open(context.ModelPath ?? throw new ModelLoadException("The AuroraCap family loads from a model folder; set ModelPath."));
        if (!CanLoad(folder))
        {
            throw new ModelLoadException(
                $"'{folder.Path}' is not an AuroraCap model in the xtuner layout: it needs a llama config.json (model_type is '{folder.ModelType ?? "(missing)"}') with visual_encoder/config.json and projector/config.json beside it.",
                folder.Path);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var g = context.GenerationDefaults;
        var ratio = TokenKeptRatio;
        if (g.AdditionalProperties is { } existing && existing.ContainsKey(TokenKeptRatioKey))
        {
            try
            {
                ratio = GetTokenKeptRatio(existing, TokenKeptRatio);
            }
            catch (ArgumentException ex)
            {
                throw new ModelLoadException($"The model's default {TokenKeptRatioKey} is invalid: {ex.Message}", folder.Path, ex);
            }
        }

        context.Tokenizer ??= Tokenizer.Load(folder.Path);
        var processor = CreateProcessor(Path.Combine(folder.Path, "visual_encoder"), ratio);
        context.ImageSplitter ??= processor;
        context.ImageProcessor ??= processor;
        context.PromptTemplate ??= AuroraCapPromptTemplate.Instance;

        // inference.py: generate(do_sample=False, temperature=0.0, top_p=1.0, num_beams=1, max_new_tokens=2048).
        g.DoSample = false;
        g.Temperature = 0f;
        g.TopP = 1f;
        g.NumBeams = 1;
        g.MaxNewTokens = 2048;
        g.AdditionalProperties ??= new Dictionary<string, object?>(StringComparer.Ordinal);
        g.AdditionalProperties[TokenKeptRatioKey] = ratio;
        context.Properties["family"] = Name;
        return ValueTask.CompletedTask;
    }

    /// <summary>Creates the CLIP preprocessor of a <c>visual_encoder</c> folder; its per-view token count is the count after merging at <paramref name="ratio"/>.</summary>
    /// <param name="encoderFolder">The <c>visual_encoder</c> folder.</param>
    /// <param name="ratio">The kept-token ratio the counts assume (the encoder's actual output decides the prompt).</param>
    /// <returns>The preprocessor.</returns>
    /// <exception cref="ModelLoadException">A configuration value is invalid.</exception>
    internal static ClipImagePreprocessor CreateProcessor(string encoderFolder, double ratio)
    {
        var encoder = JsonConfig.ReadFile(encoderFolder, "config.json")
            ?? throw new ModelLoadException($"'{encoderFolder}' has no config.json; AuroraCap's vision tower configuration is missing.", encoderFolder);
        var vision = encoder.Section("vision_config") ?? encoder;
        var imageSize = vision.Int("image_size", DefaultImageSize);
        var patch = vision.Int("patch_size", DefaultPatchSize);
        var layers = vision.Int("num_hidden_layers", DefaultTowerLayers);

        var pre = JsonConfig.ReadFile(encoderFolder, "preprocessor_config.json");
        var shortest = pre is { } p ? p.Size("size", imageSize) : imageSize;
        var crop = pre is { } c ? c.Size("crop_size", shortest) : shortest;
        if (shortest <= 0 || crop <= 0 || patch <= 0 || layers <= 0)
        {
            throw new ModelLoadException(
                $"AuroraCap's vision configuration in '{encoderFolder}' has a non-positive size (shortest edge {shortest}, crop {crop}, patch {patch}, layers {layers}).",
                encoderFolder);
        }

        var mean = pre is { } m ? m.Doubles("image_mean") : null;
        var std = pre is { } s ? s.Doubles("image_std") : null;
        if ((mean is not null && mean.Length != 3) || (std is not null && std.Length != 3))
        {
            throw new ModelLoadException($"'{Path.Combine(encoderFolder, "preprocessor_config.json")}' must give three values for image_mean and image_std.", encoderFolder);
        }

        // The features are hidden_states[-2], so the tower runs layers - 1 layers and merges after each of them.
        var tokens = VisualTokenCounts.AuroraCapAfterMerging(ratio, crop, patch, layers, layers - 1);
        return new ClipImagePreprocessor(new ClipImageGeometry(shortest, crop, patch), mean, std, tokens);
    }

    private static double ValidateRatio(double ratio, string name)
    {
        if (!(ratio > 0 && ratio <= 1))
        {
            throw new ArgumentOutOfRangeException(
                name,
                ratio,
                $"{TokenKeptRatioKey} must be in (0, 1]: the share of visual tokens ToMe keeps (0.2–0.4 for captioning, 0.5 or more for question answering, 0.8 or more for OCR).");
        }

        return ratio;
    }
}
