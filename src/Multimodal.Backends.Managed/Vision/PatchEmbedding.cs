// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>Patch embedding: a <c>Conv2d(3, C, k=P, stride=P)</c> computed as one GEMM over flattened patches.</summary>
internal static class PatchEmbedding
{
    /// <summary>Embeds a <c>[3, H, W]</c> image into <c>[(H/P)·(W/P), C]</c> rows, row-major over the patch grid.</summary>
    /// <param name="pixels">The image, channels first.</param>
    /// <param name="height">H, a multiple of <paramref name="patch"/>.</param>
    /// <param name="width">W, a multiple of <paramref name="patch"/>.</param>
    /// <param name="patch">The patch side P.</param>
    /// <param name="convolution">The convolution as a linear layer <c>[C, 3·P·P]</c>.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The patch rows.</returns>
    public static float[] Embed(ReadOnlySpan<float> pixels, int height, int width, int patch, LinearLayer convolution, ComputeContext context)
    {
        var rows = height / patch;
        var cols = width / patch;
        var channels = convolution.InFeatures / (patch * patch);
        var k = channels * patch * patch;
        var patches = new float[rows * cols * k];
        for (var py = 0; py < rows; py++)
        {
            for (var px = 0; px < cols; px++)
            {
                var dst = patches.AsSpan(((py * cols) + px) * k, k);
                var i = 0;
                for (var c = 0; c < channels; c++)
                {
                    for (var ky = 0; ky < patch; ky++)
                    {
                        pixels.Slice((c * height * width) + (((py * patch) + ky) * width) + (px * patch), patch).CopyTo(dst.Slice(i, patch));
                        i += patch;
                    }
                }
            }
        }

        return convolution.Forward(patches, rows * cols, context);
    }

    /// <summary>Checks a view tensor's shape.</summary>
    /// <returns>(height, width).</returns>
    public static (int Height, int Width) CheckView(DenseTensor<float> view, int patch, int? side)
    {
        var shape = view.Shape;
        var (c, h, w) = shape.Length switch
        {
            3 => (shape[0], shape[1], shape[2]),
            4 when shape[0] == 1 => (shape[1], shape[2], shape[3]),
            _ => (0, 0, 0),
        };

        if (c != 3)
        {
            throw new ArgumentException($"A view must be a [3, H, W] pixel tensor; got {view}.", nameof(view));
        }

        if (side is { } s && (h != s || w != s))
        {
            throw new ArgumentException($"This vision tower takes {s}x{s} views; got {w}x{h}. Preprocess with the family's processor.", nameof(view));
        }

        if (h % patch != 0 || w % patch != 0)
        {
            throw new ArgumentException($"View sides must be multiples of the {patch}-pixel patch; got {w}x{h}.", nameof(view));
        }

        return (h, w);
    }
}
