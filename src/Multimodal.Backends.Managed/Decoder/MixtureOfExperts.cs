// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>
/// Aria's MoE MLP: router logits h·W_rᵀ, the top-k raw logits softmaxed among themselves as weights, each chosen
/// expert computing SiLU(gate)·up → down from its fused first projection, plus the shared experts (a Llama MLP) on
/// every token. Tokens are grouped by expert so each expert runs once per call over all its tokens.
/// </summary>
internal static class MixtureOfExperts
{
    /// <summary>Computes the MLP output of <paramref name="n"/> normalised rows.</summary>
    public static void Forward(MoeWeights moe, ReadOnlySpan<float> x, int n, int hidden, Span<float> output, ComputeContext context)
    {
        var experts = moe.ExpertIn.Length;
        var logits = moe.Router.Forward(x, n, context);
        var assignments = new List<(int Token, float Weight)>[experts];
        for (var e = 0; e < experts; e++)
        {
            assignments[e] = [];
        }

        Span<int> chosen = stackalloc int[moe.TopK];
        Span<float> weights = stackalloc float[moe.TopK];
        for (var t = 0; t < n; t++)
        {
            TopK(logits.AsSpan(t * experts, experts), chosen, weights);
            TensorPrimitives.SoftMax(weights, weights);
            for (var j = 0; j < chosen.Length; j++)
            {
                assignments[chosen[j]].Add((t, weights[j]));
            }
        }

        // Shared experts first: their output initialises the sum.
        var gate = moe.SharedGate.Forward(x, n, context);
        var up = moe.SharedUp.Forward(x, n, context);
        VectorMath.SiluMultiply(gate, up);
        moe.SharedDown.Forward(gate, n, output, context);

        for (var e = 0; e < experts; e++)
        {
            var tokens = assignments[e];
            if (tokens.Count == 0)
            {
                continue;
            }

            var rows = new float[tokens.Count * hidden];
            for (var i = 0; i < tokens.Count; i++)
            {
                x.Slice(tokens[i].Token * hidden, hidden).CopyTo(rows.AsSpan(i * hidden));
            }

            var width = moe.ExpertIn[e].OutFeatures / 2;
            var fused = moe.ExpertIn[e].Forward(rows, tokens.Count, context);
            var activated = new float[tokens.Count * width];
            TransformerDecoder.SwiGluFromFused(fused, tokens.Count, width, activated);

            var result = moe.ExpertOut[e].Forward(activated, tokens.Count, context);
            for (var i = 0; i < tokens.Count; i++)
            {
                var destination = output.Slice(tokens[i].Token * hidden, hidden);
                TensorPrimitives.MultiplyAdd(result.AsSpan(i * hidden, hidden), tokens[i].Weight, destination, destination);
            }
        }

    }

    /// <summary>The indices and values of the k largest logits, largest first (lower index first on ties).</summary>
    private static void TopK(ReadOnlySpan<float> logits, Span<int> indices, Span<float> values)
    {
        var k = indices.Length;
        for (var j = 0; j < k; j++)
        {
            indices[j] = -1;
            values[j] = float.NegativeInfinity;
        }

        for (var i = 0; i < logits.Length; i++)
        {
            var v = logits[i];
            if (indices[k - 1] >= 0 && v <= values[k - 1])
            {
                continue;
            }

            var position = k - 1;
            while (position > 0 && (indices[position - 1] < 0 || v > values[position - 1]))
            {
                indices[position] = indices[position - 1];
                values[position] = values[position - 1];
                position--;
            }

            indices[position] = i;
            values[position] = v;
        }
    }
}
