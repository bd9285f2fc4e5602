// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Models.Aria;

/// <summary>Hands every view's <c>pixel_mask</c> to the vision encoder: for views the <see cref="AriaImageSplitter"/>
/// processed, the masks go into <see cref="VisionEncodeOptions.AdditionalProperties"/>[<see cref="AriaFamily.PixelMaskKey"/>]
/// as one <c>[H, W]</c> <see cref="DenseTensor{T}"/> of <see cref="bool"/> per view, in view order.</summary>
/// <remarks>The pipeline encodes the tensors the processor returned, so the splitter's weak table finds them. A call
/// whose options already carry masks, or with a view the splitter did not make, is forwarded unchanged (the encoder
/// then treats every pixel as valid).</remarks>
internal sealed class AriaPixelMaskVisionEncoder(IVisionEncoder innerEncoder, AriaImageSplitter splitter) : DelegatingVisionEncoder(innerEncoder)
{
    /// <summary>Gets the splitter whose masks are attached.</summary>
    public AriaImageSplitter Splitter { get; } = splitter;

    public override ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(views);
        return InnerEncoder.EncodeAsync(views, WithMasks(views, options), cancellationToken);
    }

    /// <summary>The options with the views' masks added, or <paramref name="options"/> when they cannot or need not be.</summary>
    private VisionEncodeOptions? WithMasks(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options)
    {
        if (views.Count == 0 || options?.AdditionalProperties?.ContainsKey(AriaFamily.PixelMaskKey) == true)
        {
            return options;
        }

        var masks = new DenseTensor<bool>[views.Count];
        for (var i = 0; i < views.Count; i++)
        {
            if (views[i] is not { } view || !Splitter.TryGetPixelMask(view, out var mask))
            {
                return options;
            }

            masks[i] = mask;
        }

        var properties = options?.AdditionalProperties is { } existing
            ? new Dictionary<string, object?>(existing, StringComparer.Ordinal)
            : new Dictionary<string, object?>(StringComparer.Ordinal);
        properties[AriaFamily.PixelMaskKey] = masks;
        return new VisionEncodeOptions { LayerMerger = options?.LayerMerger, AdditionalProperties = properties };
    }
}
