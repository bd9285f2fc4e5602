// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>The number of visual tokens each family feeds the language model per view, where geometry decides it.</summary>
/// <remarks>
/// The per-image totals come from the layouts: <see cref="AnyResLayout.TokenCount"/>, <see cref="MiniCpmVSliceLayout.TokenCount"/>,
/// <see cref="AriaLayout.TokenCount"/>. See FAMILIES.md §F. Thread-safe (pure functions and constants).
/// </remarks>
public static class VisualTokenCounts
{
    /// <summary>LLaVA-1.5: CLIP ViT-L/14 at 336, CLS dropped → 24 × 24.</summary>
    public const int Llava15PerImage = 576;

    /// <summary>LLaVA-Lightning-MPT-7B preview: CLIP ViT-L/14 at 224, CLS dropped → 16 × 16.</summary>
    public const int LlavaMptPreviewPerImage = 256;

    /// <summary>LongVA: one anyres tile after UniRes 2×2 average pooling of its 24 × 24 map → 12 × 12.</summary>
    public const int LongVaPerTile = 144;

    /// <summary>LongVA: one video frame after <c>get_2dPool</c> (stride 2, average) → 12 × 12.</summary>
    public const int LongVaPerFrame = 144;

    /// <summary>AuroraCap: patches of one 378 × 378 view before ToMe merging → 27 × 27.</summary>
    public const int AuroraCapBeforeMerging = 729;

    /// <summary>MiniCPM-V 2.0: resampler queries per view (<c>query_num</c>), source and every slice alike.</summary>
    public const int MiniCpmV2PerView = 64;

    /// <summary>Aria: tokens per crop at <c>max_image_size</c> 490 (<c>projector_patch_to_query_dict[1225]</c>).</summary>
    public const int AriaPerCrop490 = 128;

    /// <summary>Aria: tokens per crop at <c>max_image_size</c> 980 (<c>projector_patch_to_query_dict[4900]</c>).</summary>
    public const int AriaPerCrop980 = 256;

    /// <summary>Returns the patch tokens of a square ViT input without the CLS token: (imageSize / patchSize)².</summary>
    /// <param name="imageSize">The side of the square input.</param>
    /// <param name="patchSize">The patch size.</param>
    /// <returns>The number of patch tokens.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive.</exception>
    public static int PatchTokens(int imageSize, int patchSize = 14)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        return (imageSize / patchSize) * (imageSize / patchSize);
    }

    /// <summary>
    /// Computes AuroraCap's per-layer ToMe merge count exactly as <c>AuroraEncoder.forward</c> (rese1f/aurora
    /// <c>src/xtuner/xtuner/model/aurora.py</c>): <c>int(W * H / patch**2 * (1 - token_kept_ratio) / num_hidden_layers)</c>.
    /// </summary>
    /// <param name="tokenKeptRatio">The token kept ratio in [0, 1] (0.8 in <c>inference.py</c>, 0.2 in the README).</param>
    /// <param name="imageSize">The square input side.</param>
    /// <param name="patchSize">The patch size.</param>
    /// <param name="numHiddenLayers">The vision tower's layer count.</param>
    /// <returns>r, the tokens merged per layer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The ratio is outside [0, 1] or a size is not positive.</exception>
    public static int AuroraCapMergesPerLayer(double tokenKeptRatio, int imageSize = 378, int patchSize = 14, int numHiddenLayers = 32)
    {
        if (!(tokenKeptRatio >= 0 && tokenKeptRatio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(tokenKeptRatio), tokenKeptRatio, "The token kept ratio must lie in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHiddenLayers);

        // Left to right in doubles, as Python evaluates it: 1 - 0.8 is 0.19999999999999996, which the result depends on.
        return (int)((double)((long)imageSize * imageSize) / (patchSize * patchSize) * (1 - tokenKeptRatio) / numHiddenLayers);
    }

    /// <summary>
    /// Computes the visual tokens AuroraCap feeds per image or frame: starting from (patches + CLS), every merge step
    /// removes min(r, (t − 1)//2) tokens (ToMe's <c>bipartite_soft_matching</c> with the class token protected), and the
    /// CLS token is dropped at the end. With the defaults this is 729 − 31·r.
    /// </summary>
    /// <param name="tokenKeptRatio">The token kept ratio in [0, 1].</param>
    /// <param name="imageSize">The square input side.</param>
    /// <param name="patchSize">The patch size.</param>
    /// <param name="numHiddenLayers">The vision tower's layer count (for r).</param>
    /// <param name="mergeSteps">The merges before the feature layer: 31 for <c>hidden_states[-2]</c> of 32 layers.</param>
    /// <returns>The number of visual tokens.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The ratio is outside [0, 1] or a size is not positive.</exception>
    public static int AuroraCapAfterMerging(double tokenKeptRatio, int imageSize = 378, int patchSize = 14, int numHiddenLayers = 32, int mergeSteps = 31)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mergeSteps);
        var r = AuroraCapMergesPerLayer(tokenKeptRatio, imageSize, patchSize, numHiddenLayers);
        var tokens = PatchTokens(imageSize, patchSize) + 1;
        for (var step = 0; step < mergeSteps; step++)
        {
            var merged = Math.Min(r, (tokens - 1) / 2);
            if (merged > 0)
            {
                tokens -= merged;
            }
        }

        return tokens - 1;
    }
}
