// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Preprocessing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Aria;

/// <summary>The Aria family (rhymes-ai/Aria, <c>model_type</c> <c>aria</c>).</summary>
/// <remarks>
/// <para>Configures: the tokenizer of the folder (<c>tokenizer.json</c>, else <c>tokenizer.model</c>); an
/// <see cref="AriaImageSplitter"/> (splitter and processor) over the original rhymes-ai image processor, sized from
/// <c>preprocessor_config.json</c> (<c>max_image_size</c>, <c>min_image_size</c>, <c>split_ratio</c>,
/// <c>split_image</c>), else from the same keys in <c>config.json</c>, else the reference defaults (980, 336, the
/// 19 default ratios, no split); the <see cref="AriaPromptTemplate"/>; and the generation defaults below. PDF pages
/// are split by default (seed 000's recipe), photos are not; a request's <c>split_image</c> wins.</para>
/// <para>Generation defaults: greedy (<see cref="GenerationOptions.DoSample"/> <see langword="false"/>) with 500 new
/// tokens. The references disagree: the README and <c>aria/inference.py</c> sample at temperature 0.9 with
/// <c>max_new_tokens</c> 500; the vLLM recipe (<c>docs/inference.md</c>) is greedy (<c>top_k</c> 1) with
/// <c>max_tokens</c> 200, and seed 000 runs it with up to 4096. The family takes the greedy recipe, reproducible and
/// what seed 000 runs, with the README's 500 tokens; set <see cref="GenerationOptions.DoSample"/>,
/// <see cref="GenerationOptions.Temperature"/> and <see cref="GenerationOptions.MaxNewTokens"/> to change it. Every
/// turn stops at <c>&lt;|im_end|&gt;</c>.</para>
/// <para>Pixel masks: Aria pads every crop to a square and masks the padding in the vision tower (its pixel mask).
/// The family adds <see cref="AttachPixelMasksAsync"/> as a post-load step (<see cref="ModelLoadContext.AddPostLoadStep"/>),
/// which wraps the backend's vision encoder so each view's mask reaches it as
/// <see cref="VisionEncodeOptions.AdditionalProperties"/>[<see cref="PixelMaskKey"/>] (the managed backend's
/// contract), whether the family was chosen with <see cref="AriaServiceExtensions.UseAria"/> or by detection.</para>
/// </remarks>
public sealed class AriaFamily : IModelFamily
{
    /// <summary>The <see cref="VisionEncodeOptions.AdditionalProperties"/> key of the per-view pixel masks.</summary>
    public const string PixelMaskKey = "pixel_mask";

    /// <summary>Gets the shared instance.</summary>
    public static AriaFamily Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "aria";

    /// <inheritdoc />
    /// <remarks>Accepts <c>model_type</c> <c>aria</c>.</remarks>
    public bool CanLoad(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return folder.ModelType == "aria";
    }

    /// <inheritdoc />
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = ModelFolder.Open(context.ModelPath ?? throw new ModelLoadException("The Aria family loads from a model folder; set ModelPath."));
        if (!CanLoad(folder))
        {
            throw new ModelLoadException($"'{folder.Path}' is not an Aria model (model_type '{folder.ModelType}'); the Aria family loads aria folders.", folder.Path);
        }

        cancellationToken.ThrowIfCancellationRequested();
        context.Tokenizer ??= Tokenizer.Load(folder.Path);
        var splitter = new AriaImageSplitter(CreatePreprocessor(folder));
        context.ImageSplitter ??= splitter;
        context.ImageProcessor ??= splitter;
        context.PromptTemplate ??= AriaPromptTemplate.Instance;

        // Once the backend has loaded, every view's pixel mask must reach the vision encoder.
        context.AddPostLoadStep(AttachPixelMasksAsync);

        var g = context.GenerationDefaults;
        g.DoSample = false;
        g.NumBeams = 1;
        g.MaxNewTokens = 500;
        context.Properties["family"] = Name;
        return ValueTask.CompletedTask;
    }

    /// <summary>The post-load step the family adds: it wraps the vision encoder so that every view's pixel mask reaches it.</summary>
    /// <param name="context">The load, after the family and the backend.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>A completed task.</returns>
    /// <remarks>Does nothing when there is no vision encoder, when the image processor is not an
    /// <see cref="AriaImageSplitter"/> (masks are unknown), or when the encoder is already wrapped.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static ValueTask AttachPixelMasksAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        if (context.VisionEncoder is { } encoder
            && context.ImageProcessor is AriaImageSplitter splitter
            && encoder.GetService(typeof(AriaPixelMaskVisionEncoder)) is null)
        {
            context.VisionEncoder = new AriaPixelMaskVisionEncoder(encoder, splitter);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Creates the image preprocessor from <c>preprocessor_config.json</c>, else <c>config.json</c>, else the reference defaults.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The preprocessor.</returns>
    /// <exception cref="ModelLoadException">A key has the wrong type or an unsupported value.</exception>
    internal static AriaImagePreprocessor CreatePreprocessor(ModelFolder folder)
    {
        JsonElement[] sources = JsonConfig.ReadFile(folder.Path, "preprocessor_config.json") is { ValueKind: JsonValueKind.Object } pre
            ? [pre, folder.Config]
            : [folder.Config];
        var maxImageSize = Read(sources, "max_image_size", (e, k) => e.Int(k, 980), 980);
        var minImageSize = Read(sources, "min_image_size", (e, k) => e.Int(k, 336), 336);
        var splitImage = Read(sources, "split_image", (e, k) => e.Bool(k, false), false);
        var splitRatios = Read(sources, "split_ratio", ReadRatios, null);
        try
        {
            return new AriaImagePreprocessor(maxImageSize, minImageSize, splitRatios, splitImage);
        }
        catch (ArgumentException ex)
        {
            throw new ModelLoadException(
                $"'{folder.Path}' configures Aria's image processor with max_image_size {maxImageSize} and min_image_size {minImageSize}: {ex.Message} (Aria's processor takes max_image_size 490 or 980 and min_image_size up to 490.)",
                folder.Path,
                ex);
        }
    }

    /// <summary>Reads a key from the first source that has it.</summary>
    private static T Read<T>(JsonElement[] sources, string key, Func<JsonElement, string, T> read, T fallback)
    {
        foreach (var source in sources)
        {
            if (source.Has(key))
            {
                return read(source, key);
            }
        }

        return fallback;
    }

    /// <summary>Reads <c>split_ratio</c>: a list of [columns, rows] pairs, as <c>_select_best_resolution</c> compares columns/rows with width/height.</summary>
    private static GridShape[] ReadRatios(JsonElement element, string key)
    {
        var value = element.GetProperty(key);
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw new ModelLoadException($"Configuration key '{key}' must be a non-empty list of [columns, rows] pairs; it is {value.GetRawText()}.");
        }

        var ratios = new List<GridShape>();
        foreach (var pair in value.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2
                || pair[0].ValueKind != JsonValueKind.Number || pair[1].ValueKind != JsonValueKind.Number
                || !pair[0].TryGetInt32(out var columns) || !pair[1].TryGetInt32(out var rows) || columns < 1 || rows < 1)
            {
                throw new ModelLoadException($"Configuration key '{key}' must be a list of [columns, rows] pairs of positive integers; it has {pair.GetRawText()}.");
            }

            ratios.Add(new GridShape(columns, rows));
        }

        return [.. ratios];
    }
}
