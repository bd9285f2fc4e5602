// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Preprocessing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Llava;

/// <summary>The LLaVA family: LLaVA-1.5 (llava-hf <c>LlavaForConditionalGeneration</c>, <c>model_type</c> <c>llava</c>) and
/// LLaVA-Lightning-MPT (<c>llava_mpt</c>, or <c>mpt</c> with <c>mm_vision_tower</c>).</summary>
/// <remarks>
/// <para>Configures: the tokenizer of the folder (<c>tokenizer.json</c>, else <c>tokenizer.model</c>); CLIP preprocessing
/// sized from <c>preprocessor_config.json</c> (LLaVA-1.5 pads to a square of the mean colour first, as
/// <c>image_aspect_ratio: pad</c>; the MPT preview does not); the <see cref="LlavaV1PromptTemplate"/> or
/// <see cref="LlavaMptPromptTemplate"/>; and the reference generation defaults of <c>llava/eval/run_llava.py</c>
/// (temperature 0.2 with sampling, top-p off, one beam, 512 new tokens). No token merging.</para>
/// <para>Images per request: the reference splices any number of <c>&lt;image&gt;</c> markers, so the limit is
/// <see cref="MultimodalModelOptions.MaxImagesPerRequest"/>; videos are refused (the checkpoints are image-only).</para>
/// </remarks>
public sealed class LlavaFamily : IModelFamily
{
    /// <summary>Gets the shared instance.</summary>
    public static LlavaFamily Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "llava";

    /// <summary>Tells which variant a folder holds.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The variant, or <see langword="null"/> when the folder is not a LLaVA model.</returns>
    public static LlavaVariant? DetectVariant(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return folder.ModelType switch
        {
            "llava" or "llava_llama" => LlavaVariant.Llava15,
            "llava_mpt" => LlavaVariant.Mpt,
            "mpt" when folder.Config.Has("mm_vision_tower") => LlavaVariant.Mpt,
            _ => null,
        };
    }

    /// <inheritdoc />
    public bool CanLoad(ModelFolder folder) => DetectVariant(folder) is not null;

    /// <inheritdoc />
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = ModelFolder.Open(context.ModelPath ?? throw new ModelLoadException("The LLaVA family loads from a model folder; set ModelPath."));
        var variant = DetectVariant(folder) ?? throw new ModelLoadException(
            $"'{folder.Path}' is not a LLaVA model (model_type '{folder.ModelType}'); the LLaVA family loads llava, llava_llama and llava_mpt folders.", folder.Path);
        cancellationToken.ThrowIfCancellationRequested();
        context.Tokenizer ??= Tokenizer.Load(folder.Path);
        var config = folder.Config;
        LlavaImagePreprocessor processor;
        if (variant == LlavaVariant.Llava15)
        {
            var vision = config.Section("vision_config") ?? default;
            var patch = vision.ValueKind == JsonValueKind.Object ? vision.Int("patch_size", 14) : 14;
            var pre = JsonConfig.ReadFile(folder.Path, "preprocessor_config.json");
            processor = Create(pre, 336, patch, padToSquare: config.String("image_aspect_ratio", "pad") == "pad");
            context.PromptTemplate ??= LlavaV1PromptTemplate.Instance;
        }
        else
        {
            // The MPT preview keeps its CLIP tower in a separate folder (mm_vision_tower); its preprocessor config sizes the views.
            var tower = config.String("mm_vision_tower");
            var towerFolder = tower is null ? null : Path.GetFullPath(Path.Combine(folder.Path, tower));
            var pre = JsonConfig.ReadFile(folder.Path, "preprocessor_config.json")
                ?? (towerFolder is not null && Directory.Exists(towerFolder) ? JsonConfig.ReadFile(towerFolder, "preprocessor_config.json") : null);
            var towerConfig = towerFolder is not null && Directory.Exists(towerFolder) ? JsonConfig.ReadFile(towerFolder, "config.json") : null;
            var vision = towerConfig?.Section("vision_config") ?? towerConfig;
            var patch = vision is { } v ? v.Int("patch_size", 14) : 14;
            processor = Create(pre, 224, patch, padToSquare: false);
            context.PromptTemplate ??= new LlavaMptPromptTemplate(config.Bool("mm_use_im_start_end", true));
        }

        context.ImageSplitter ??= processor;
        context.ImageProcessor ??= processor;
        var g = context.GenerationDefaults;
        g.DoSample = true;
        g.Temperature = 0.2f;
        g.TopP = 1f;
        g.NumBeams = 1;
        g.MaxNewTokens = 512;
        context.Properties["family"] = Name;
        context.Properties["llava.variant"] = variant;
        return ValueTask.CompletedTask;
    }

    private static LlavaImagePreprocessor Create(JsonElement? pre, int defaultSize, int patch, bool padToSquare)
    {
        var p = pre ?? default;
        var has = p.ValueKind == JsonValueKind.Object;
        var shortest = has ? p.Size("size", defaultSize) : defaultSize;
        var crop = has ? p.Size("crop_size", shortest) : shortest;
        var mean = (has ? p.Doubles("image_mean") : null) ?? [.. ClipImageGeometry.OpenAiClipMean];
        var clip = new ClipImageGeometry(shortest, crop, patch);
        return new LlavaImagePreprocessor(new LlavaImageGeometry(clip, padToSquare, mean));
    }
}

/// <summary>The LLaVA checkpoints the family runs.</summary>
public enum LlavaVariant
{
    /// <summary>LLaVA-1.5 on Vicuna/Llama (<c>llava_v1</c> conversations, SentencePiece tokenizer with BOS).</summary>
    Llava15,

    /// <summary>LLaVA-Lightning-MPT (<c>mpt</c> conversations, GPT-NeoX byte-level BPE).</summary>
    Mpt,
}
