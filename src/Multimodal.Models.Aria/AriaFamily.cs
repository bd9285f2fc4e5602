// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
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
/// <para>Crop sizes: the supported <c>max_image_size</c> values and their tokens per crop come from the model's
/// projector. <c>config.json</c> <c>projector_patch_to_query_dict</c> maps a crop's patch count to its number of
/// projector queries; each perfect-square count p gives the size √p · <c>vision_config.patch_size</c> (default 14), so
/// the reference's {"1225": 128, "4900": 256} gives 490 → 128 and 980 → 256 tokens, and a tiny checkpoint's
/// {"64": 16} gives 112 → 16. Without the key the reference's sizes (490 and 980) apply. When the folder sets no
/// <c>max_image_size</c>, it is 980 if supported, else the largest supported size. When it sets no
/// <c>min_image_size</c>, it is 336 clamped to the smallest supported size: the reference never clamps, but with
/// <c>min_image_size</c> above <c>max_image_size</c> its <c>keep_ratio_resize_and_pixel_mask</c> stretches the short
/// side past the canvas and <c>ImageOps.expand</c>'s negative padding then cuts the crop (a degenerate result), so the
/// family takes the nearest value that keeps every supported size usable. An explicit size the projector does not
/// support, or an explicit <c>min_image_size</c> above the smallest supported size, fails the load.</para>
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

    /// <summary>Creates the image preprocessor from <c>preprocessor_config.json</c>, else <c>config.json</c>, else the reference
    /// defaults, with the crop sizes of the model's projector (<see cref="ReadTokensPerCrop"/>).</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The preprocessor.</returns>
    /// <remarks>Without <c>max_image_size</c>, the preprocessor takes 980 when the projector supports it, else the
    /// largest supported size; without <c>min_image_size</c>, 336 clamped to the smallest supported size (see the
    /// class remarks for what the reference would do).</remarks>
    /// <exception cref="ModelLoadException">A key has the wrong type or an unsupported value.</exception>
    internal static AriaImagePreprocessor CreatePreprocessor(ModelFolder folder)
    {
        JsonElement[] sources = JsonConfig.ReadFile(folder.Path, "preprocessor_config.json") is { ValueKind: JsonValueKind.Object } pre
            ? [pre, folder.Config]
            : [folder.Config];
        var tokensPerCrop = ReadTokensPerCrop(folder);
        int[] sizes = [.. (tokensPerCrop ?? AriaImageGeometry.DefaultTokensPerCrop).Keys.Order()];
        var defaultMax = sizes.Contains(980) ? 980 : sizes[^1];
        var defaultMin = Math.Min(336, sizes[0]);
        var maxImageSize = Read(sources, "max_image_size", (e, k) => e.Int(k, defaultMax), defaultMax);
        var minImageSize = Read(sources, "min_image_size", (e, k) => e.Int(k, defaultMin), defaultMin);
        var splitImage = Read(sources, "split_image", (e, k) => e.Bool(k, false), false);
        var splitRatios = Read(sources, "split_ratio", ReadRatios, null);
        try
        {
            return tokensPerCrop is null
                ? new AriaImagePreprocessor(maxImageSize, minImageSize, splitRatios, splitImage)
                : new AriaImagePreprocessor(tokensPerCrop, maxImageSize, minImageSize, splitRatios, splitImage);
        }
        catch (ArgumentException ex)
        {
            var origin = tokensPerCrop is null
                ? "Aria's processor"
                : "This model's processor (from projector_patch_to_query_dict)";
            throw new ModelLoadException(
                $"'{folder.Path}' configures Aria's image processor with max_image_size {maxImageSize} and min_image_size {minImageSize}: {ex.Message} ({origin} takes max_image_size {FormatSizes(sizes)} and min_image_size up to {sizes[0]}.)",
                folder.Path,
                ex);
        }
    }

    /// <summary>
    /// Reads the crop sizes the model's projector supports: for each entry p → q of <c>config.json</c>
    /// <c>projector_patch_to_query_dict</c> whose patch count p is a perfect square, the size
    /// √p · <c>vision_config.patch_size</c> (default 14) yields q tokens per crop. Other patch counts have no square crop
    /// and are left out.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The sizes and their tokens per crop, or <see langword="null"/> when the key is absent (the reference's
    /// 490 and 980 apply).</returns>
    /// <exception cref="ModelLoadException">The key is not an object of patch counts to positive query counts, or has no
    /// perfect-square patch count; or <c>patch_size</c> is not a positive integer.</exception>
    internal static Dictionary<int, int>? ReadTokensPerCrop(ModelFolder folder)
    {
        const string Key = "projector_patch_to_query_dict";
        var config = folder.Config;
        if (!config.Has(Key))
        {
            return null;
        }

        var raw = config.GetProperty(Key);
        if (raw.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException($"Configuration key '{Key}' must be an object mapping patch counts to query counts; it is {raw.GetRawText()}.", folder.Path);
        }

        var patchSize = config.Section("vision_config") is { } vision ? vision.Int("patch_size", 14) : 14;
        if (patchSize < 1)
        {
            throw new ModelLoadException($"Configuration key 'vision_config.patch_size' must be a positive integer; it is {patchSize}.", folder.Path);
        }

        var result = new Dictionary<int, int>();
        foreach (var entry in raw.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var patches) || patches < 1
                || entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var queries) || queries < 1)
            {
                throw new ModelLoadException($"Configuration key '{Key}' must map positive patch counts to positive query counts; it has \"{entry.Name}\": {entry.Value.GetRawText()}.", folder.Path);
            }

            var side = (long)Math.Round(Math.Sqrt(patches));
            var size = side * patchSize;
            if (side * side == patches && size <= int.MaxValue)
            {
                result[(int)size] = queries;
            }
        }

        return result.Count > 0
            ? result
            : throw new ModelLoadException($"Configuration key '{Key}' ({raw.GetRawText()}) has no perfect-square patch count, so it gives no square crop size for the image processor.", folder.Path);
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

    /// <summary>Writes sizes for a message: "490 or 980", "28, 56 or 112".</summary>
    private static string FormatSizes(int[] sizes) =>
        sizes.Length == 1
            ? sizes[0].ToString(CultureInfo.InvariantCulture)
            : string.Join(", ", sizes[..^1].Select(s => s.ToString(CultureInfo.InvariantCulture))) + " or " + sizes[^1].ToString(CultureInfo.InvariantCulture);

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
