// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>LLaVA's projectors: <c>linear</c> (one layer) or <c>mlp2x_gelu</c> (linear → exact GELU → linear).</summary>
/// <param name="First">The first linear layer.</param>
/// <param name="Second">The second layer, or <see langword="null"/> for the single-linear projector.</param>
internal sealed record MlpProjector(LinearLayer First, LinearLayer? Second)
{
    /// <summary>Gets the output width.</summary>
    public int OutFeatures => (Second ?? First).OutFeatures;

    /// <summary>Loads <c>{first}.weight/bias</c> and, for two layers, <c>{second}.weight/bias</c>.</summary>
    public static MlpProjector Load(WeightLoader loader, string first, string? second, int inFeatures, int outFeatures)
    {
        var one = loader.Linear(first + ".weight", first + ".bias", outFeatures, inFeatures);
        var two = second is null ? null : loader.Linear(second + ".weight", second + ".bias", outFeatures, outFeatures);
        return new MlpProjector(one, two);
    }

    /// <summary>Projects <c>[tokens, in]</c> rows.</summary>
    public float[] Forward(float[] x, ComputeContext context)
    {
        var tokens = x.Length / First.InFeatures;
        var hidden = First.Forward(x, tokens, context);
        if (Second is null)
        {
            return hidden;
        }

        VectorMath.Gelu(hidden);
        return Second.Forward(hidden, tokens, context);
    }
}
