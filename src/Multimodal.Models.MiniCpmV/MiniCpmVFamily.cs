// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Preprocessing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.MiniCpmV;

/// <summary>The MiniCPM-V 2.0 family (openbmb/MiniCPM-V-2, <c>model_type</c> <c>minicpmv</c>, architecture <c>MiniCPMV</c>).</summary>
/// <remarks>
/// <para>Configures: the tokenizer of the folder (<c>tokenizer.json</c>, else <c>tokenizer.model</c>); the
/// <see cref="MiniCpmVImagePreprocessor"/> as splitter and processor, its slicing read from <c>config.json</c>
/// (<c>max_slice_nums</c> 9, <c>scale_resolution</c> 448, <c>patch_size</c> 14 and <c>query_num</c> 64 when absent);
/// the <see cref="MiniCpmVPromptTemplate"/>; and the generation defaults of the reference <c>chat()</c> with
/// <c>sampling=True</c> (sampling, top-p 0.8, top-k 100, temperature 0.7, repetition penalty 1.05, 1024 new tokens).
/// No token merging: every view gives <c>query_num</c> resampler rows.</para>
/// <para>Per-request options (<see cref="GenerationOptions.AdditionalProperties"/>) reach the splitter:
/// <see cref="ImageSplitOptionKeys.MaxSliceNums"/> and <see cref="ImageSplitOptionKeys.NeverSplit"/>.</para>
/// <para>The embedding scale is the model's business: the language model multiplies text embeddings by
/// <c>scale_emb</c> (12) inside its embedding step, and the visual rows written into the <c>&lt;unk&gt;</c> positions
/// are not scaled (<c>get_vllm_embedding</c>). The managed backend's decoder does this; a backend for this family
/// must do the same.</para>
/// <para>Requests: one image per conversation, in a user message; no video and no system message (see
/// <see cref="MiniCpmVPromptTemplate"/>).</para>
/// </remarks>
public sealed class MiniCpmVFamily : IModelFamily
{
    /// <summary>Gets the shared instance.</summary>
    public static MiniCpmVFamily Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "minicpmv";

    /// <inheritdoc />
    /// <remarks>Accepts <c>model_type</c> <c>minicpmv</c>, or an <c>architectures</c> entry <c>MiniCPMV</c>.</remarks>
    public bool CanLoad(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return folder.ModelType == "minicpmv" || folder.Architectures.Contains("MiniCPMV", StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = ModelFolder.Open(context.ModelPath ?? throw new ModelLoadException("The MiniCPM-V family loads from a model folder; set ModelPath."));
        if (!CanLoad(folder))
        {
            throw new ModelLoadException(
                $"'{folder.Path}' is not a MiniCPM-V model (model_type '{folder.ModelType}'); the MiniCPM-V family loads minicpmv folders.", folder.Path);
        }

        cancellationToken.ThrowIfCancellationRequested();
        context.Tokenizer ??= Tokenizer.Load(folder.Path);
        var preprocessor = new MiniCpmVImagePreprocessor(ReadGeometry(folder));
        context.ImageSplitter ??= preprocessor;
        context.ImageProcessor ??= preprocessor;
        context.PromptTemplate ??= MiniCpmVPromptTemplate.Instance;

        // chat(..., sampling=True): generate(top_p=0.8, top_k=100, temperature=0.7, do_sample=True,
        // repetition_penalty=1.05) with max_new_tokens 1024.
        var g = context.GenerationDefaults;
        g.DoSample = true;
        g.TopP = 0.8f;
        g.TopK = 100;
        g.Temperature = 0.7f;
        g.RepetitionPenalty = 1.05f;
        g.NumBeams = 1;
        g.MaxNewTokens = 1024;

        // chat() calls generate(inputs_embeds=...), so the repetition penalty sees only generated ids.
        g.RepetitionPenaltyIncludesPrompt = false;
        context.Properties["family"] = Name;
        return ValueTask.CompletedTask;
    }

    /// <summary>Reads a model's slicing from its <c>config.json</c> (<c>max_slice_nums</c>, <c>scale_resolution</c>,
    /// <c>patch_size</c>, <c>query_num</c>), with MiniCPM-V 2.0's values where a key is absent: what the family's image
    /// preprocessor slices with.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The geometry.</returns>
    /// <exception cref="ModelLoadException">A key has the wrong type or a value is not positive, or <c>slice_mode</c> is off.</exception>
    public static MiniCpmVSliceGeometry ReadGeometry(ModelFolder folder)
    {
        var config = folder.Config;
        if (!config.Bool("slice_mode", true))
        {
            // Without slice mode the reference feeds the image unresized; the family only implements slice mode.
            throw new ModelLoadException($"'{folder.Path}' sets slice_mode false; the MiniCPM-V family supports the slice mode MiniCPM-V 2.0 ships with.", folder.Path);
        }

        var maxSliceNums = config.Int("max_slice_nums", 9);
        var scaleResolution = config.Int("scale_resolution", 448);
        var patchSize = config.Int("patch_size", 14);
        var queryNum = config.Int("query_num", 64);
        if (maxSliceNums < 1 || scaleResolution < 1 || patchSize < 1 || queryNum < 1)
        {
            throw new ModelLoadException(
                $"'{folder.Path}' config.json has max_slice_nums {maxSliceNums}, scale_resolution {scaleResolution}, patch_size {patchSize}, query_num {queryNum}; all must be positive.",
                folder.Path);
        }

        return new MiniCpmVSliceGeometry(maxSliceNums, scaleResolution, patchSize, queryNum);
    }
}
