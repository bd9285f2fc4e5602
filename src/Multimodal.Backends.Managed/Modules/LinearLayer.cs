// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;

namespace Multimodal.Backends.Managed.Modules;

/// <summary>A linear layer, <c>y = x·Wᵀ + b</c>, as PyTorch's <c>nn.Linear</c>.</summary>
/// <param name="Weight">The weights, <c>[out, in]</c>.</param>
/// <param name="Bias">The bias (<c>out</c> values), or <see langword="null"/>.</param>
internal sealed record LinearLayer(LinearWeight Weight, float[]? Bias)
{
    /// <summary>Gets the number of input features.</summary>
    public int InFeatures => Weight.Columns;

    /// <summary>Gets the number of output features.</summary>
    public int OutFeatures => Weight.Rows;

    /// <summary>Computes <c>n</c> rows.</summary>
    /// <param name="x">The input, <c>n × in</c>.</param>
    /// <param name="n">The number of rows.</param>
    /// <param name="y">The output, <c>n × out</c>.</param>
    /// <param name="context">The threading settings.</param>
    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y, ComputeContext context) =>
        LinearKernel.Forward(x[..(n * InFeatures)], n, Weight, Bias, y[..(n * OutFeatures)], context);

    /// <summary>Computes <c>n</c> rows into a new array.</summary>
    /// <param name="x">The input, <c>n × in</c>.</param>
    /// <param name="n">The number of rows.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The output, <c>n × out</c>.</returns>
    public float[] Forward(ReadOnlySpan<float> x, int n, ComputeContext context)
    {
        var y = GC.AllocateUninitializedArray<float>(n * OutFeatures);
        Forward(x, n, y, context);
        return y;
    }
}

/// <summary>A normalisation layer's parameters.</summary>
/// <param name="Weight">The scale.</param>
/// <param name="Bias">The shift, or <see langword="null"/> (RMSNorm, MPT's bias-free LayerNorm).</param>
/// <param name="Epsilon">The epsilon.</param>
/// <param name="Rms">Whether this is RMSNorm rather than LayerNorm.</param>
internal sealed record NormLayer(float[] Weight, float[]? Bias, float Epsilon, bool Rms)
{
    /// <summary>Normalises every row.</summary>
    /// <param name="source">The rows.</param>
    /// <param name="destination">The output (may be the source).</param>
    public void Forward(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (Rms)
        {
            VectorMath.RmsNorm(source, destination, Weight.Length, Weight, Epsilon);
        }
        else
        {
            VectorMath.LayerNorm(source, destination, Weight.Length, Weight, Bias, Epsilon);
        }
    }
}
