// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Preprocessing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.LongVA;

/// <summary>The LongVA family (EvolvingLMMs-Lab/LongVA; lmms-lab/LongVA-7B and -DPO): a Qwen2 language model with a
/// CLIP ViT-L/14-336 tower, UniRes anyres tiles for images and 2 × 2-pooled CLIP frames for video.</summary>
/// <remarks>
/// <para>Detection: <c>config.json</c> with <c>model_type</c> <c>llava_qwen</c>, or <c>qwen2</c> with an
/// <c>mm_vision_tower</c> key (the hub's LongVA-7B card tags it <c>qwen2</c>).</para>
/// <para>Configures: the tokenizer of the folder; a <see cref="LongVaImagePreprocessor"/> (splitter and processor)
/// whose pinpoints come from <c>image_grid_pinpoints</c> ((width, height) pairs, in config order), tile size from
/// <c>preprocessor_config.json</c> <c>crop_size</c> (else <c>mm_vision_tower_config.image_size</c>, else 336), base
/// view size from its <c>size.shortest_edge</c> (else the tile size), patch size from the tower config (else 14) and
/// pooling stride from <c>mm_spatial_pool_stride</c> (else 2); the <see cref="LongVaPromptTemplate"/>; and the
/// generation defaults of the LongVA README (sampling at temperature 0.5, top-p off, one beam, 1024 new tokens).</para>
/// <para>Only UniRes is implemented: a folder whose <c>mm_patch_merge_type</c> or <c>image_aspect_ratio</c> asks for
/// another scheme (for example LLaVA-OneVision's <c>spatial_unpad</c>, which shares the <c>llava_qwen</c> model type)
/// is refused with <see cref="ModelLoadException"/> rather than run with the wrong visual tokens.</para>
/// <para>Thread-safety: stateless; use <see cref="Instance"/>.</para>
/// </remarks>
public sealed class LongVaFamily : IModelFamily
{
    /// <summary>The tile and base-view side of CLIP ViT-L/14-336, used when neither the folder nor the config names one.</summary>
    public const int DefaultTileSize = 336;

    /// <summary>The CLIP patch size used when the config does not give one.</summary>
    public const int DefaultPatchSize = 14;

    /// <summary>The UniRes / <c>get_2dPool</c> stride used when <c>mm_spatial_pool_stride</c> is absent.</summary>
    public const int DefaultPoolStride = 2;

    private LongVaFamily()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static LongVaFamily Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "longva";

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    public bool CanLoad(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return folder.ModelType switch
        {
            "llava_qwen" => true,
            "qwen2" => folder.Config.Has("mm_vision_tower"),
            _ => false,
        };
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    /// <exception cref="ModelLoadException">There is no model folder, it is not a LongVA folder, it has no tokenizer, or a configuration value is invalid or unsupported.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = ModelFolder.Open(context.ModelPath ?? throw new ModelLoadException("The LongVA family loads from a model folder; set ModelPath."));
        if (!CanLoad(folder))
        {
            throw new ModelLoadException(
                $"'{folder.Path}' is not a LongVA model (model_type '{folder.ModelType ?? "(missing)"}'); the LongVA family loads llava_qwen folders, or qwen2 folders with mm_vision_tower.",
                folder.Path);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var config = folder.Config;
        RequireUniRes(config, folder.Path);
        context.Tokenizer ??= Tokenizer.Load(folder.Path);

        var processor = new LongVaImagePreprocessor(ReadGeometry(folder));
        context.ImageSplitter ??= processor;
        context.ImageProcessor ??= processor;
        context.PromptTemplate ??= LongVaPromptTemplate.Instance;

        // LongVA README: generate(..., do_sample=True, temperature=0.5, top_p=None, num_beams=1, max_new_tokens=1024).
        var g = context.GenerationDefaults;
        g.DoSample = true;
        g.Temperature = 0.5f;
        g.TopP = 1f;
        g.NumBeams = 1;
        g.MaxNewTokens = 1024;
        context.Properties["family"] = Name;
        return ValueTask.CompletedTask;
    }

    /// <summary>Reads the anyres geometry of a LongVA folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The pinpoints, tile, base-view and patch sizes, and the pooling stride.</returns>
    /// <exception cref="ModelLoadException">A value is missing its expected shape or is not positive.</exception>
    internal static AnyResGeometry ReadGeometry(ModelFolder folder)
    {
        var config = folder.Config;
        var tower = config.Section("mm_vision_tower_config");
        var towerImage = tower is { } t ? t.Int("image_size", DefaultTileSize) : DefaultTileSize;
        var patch = tower is { } p ? p.Int("patch_size", DefaultPatchSize) : DefaultPatchSize;

        // process_anyres_image tiles at processor.crop_size["height"] and squashes the base view to size["shortest_edge"].
        var pre = JsonConfig.ReadFile(folder.Path, "preprocessor_config.json");
        var tile = pre is { } c ? c.Size("crop_size", towerImage) : towerImage;
        var baseSize = pre is { } s ? s.Size("size", tile) : tile;
        var stride = config.Int("mm_spatial_pool_stride", DefaultPoolStride);
        Positive(tile, "crop_size (preprocessor_config.json) or mm_vision_tower_config.image_size", folder.Path);
        Positive(baseSize, "size (preprocessor_config.json)", folder.Path);
        Positive(patch, "mm_vision_tower_config.patch_size", folder.Path);
        Positive(stride, "mm_spatial_pool_stride", folder.Path);
        var pinpoints = ReadPinpoints(config, folder.Path) ?? AnyResGeometry.LongVaGridPinpoints;
        return new AnyResGeometry(pinpoints, tile, baseSize, patch, stride);
    }

    /// <summary>Reads <c>image_grid_pinpoints</c>: a list of [width, height] pairs, kept in order (order breaks ties in <c>select_best_resolution</c>).</summary>
    private static List<PixelSize>? ReadPinpoints(JsonElement config, string path)
    {
        if (!config.Has("image_grid_pinpoints"))
        {
            return null;
        }

        var value = config.GetProperty("image_grid_pinpoints");
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw new ModelLoadException(
                $"Configuration key 'image_grid_pinpoints' must be a non-empty list of [width, height] pairs; it is {Shorten(value.GetRawText())}. (Range strings such as \"(1x1),...,(6x6)\" belong to other LLaVA-NeXT models.)",
                path);
        }

        var list = new List<PixelSize>(value.GetArrayLength());
        foreach (var pair in value.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2
                || !TryPositive(pair[0], out var width) || !TryPositive(pair[1], out var height))
            {
                throw new ModelLoadException($"Configuration key 'image_grid_pinpoints' has the entry {Shorten(pair.GetRawText())}; every entry must be [width, height] with positive integers.", path);
            }

            list.Add(new PixelSize(width, height));
        }

        return list;
    }

    /// <summary>Refuses folders whose patch merge or aspect handling is not UniRes anyres (absent keys are LongVA's own).</summary>
    private static void RequireUniRes(JsonElement config, string path)
    {
        var merge = config.String("mm_patch_merge_type", "unires");
        if (merge != "unires")
        {
            throw new ModelLoadException(
                $"Configuration key 'mm_patch_merge_type' is \"{merge}\"; the LongVA family implements LongVA's \"unires\" merge only (LLaVA-NeXT and LLaVA-OneVision merges are not supported).",
                path);
        }

        var aspect = config.String("image_aspect_ratio", "anyres");
        if (aspect != "anyres")
        {
            throw new ModelLoadException($"Configuration key 'image_aspect_ratio' is \"{aspect}\"; the LongVA family implements \"anyres\" (UniRes tiles) only.", path);
        }
    }

    private static bool TryPositive(JsonElement element, out int value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out value) && value > 0;
    }

    private static void Positive(int value, string key, string path)
    {
        if (value <= 0)
        {
            throw new ModelLoadException($"Configuration value {key} must be a positive integer; it is {value}.", path);
        }
    }

    private static string Shorten(string raw) => raw.Length <= 80 ? raw : string.Concat(raw.AsSpan(0, 77), "...");
}
