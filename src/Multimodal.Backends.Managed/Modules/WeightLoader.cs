// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Modules;

/// <summary>Builds layers from checkpoint tensors, checking every shape against the config.</summary>
/// <param name="checkpoint">The open checkpoint.</param>
internal sealed class WeightLoader(SafeTensorsCheckpoint checkpoint)
{
    /// <summary>Gets the checkpoint.</summary>
    public SafeTensorsCheckpoint Checkpoint { get; } = checkpoint;

    /// <summary>Tells whether a tensor exists.</summary>
    public bool Contains(string name) => Checkpoint.Contains(name);

    /// <summary>Reads a float tensor of a known shape.</summary>
    public float[] Tensor(string name, params ReadOnlySpan<long> shape) => Checkpoint.ReadSingle(name, shape);

    /// <summary>Loads a linear layer stored as <c>[out, in]</c> (nn.Linear), kept in its stored float format.</summary>
    public LinearLayer Linear(string weight, string? bias, int outFeatures, int inFeatures)
    {
        var info = Checkpoint.CheckShape(weight, outFeatures, inFeatures);
        return new LinearLayer(Stored(info, outFeatures, inFeatures), bias is null ? null : Tensor(bias, outFeatures));
    }

    /// <summary>Loads a linear layer whose bias is optional in the checkpoint.</summary>
    public LinearLayer LinearWithOptionalBias(string prefix, int outFeatures, int inFeatures) =>
        Linear(prefix + ".weight", Contains(prefix + ".bias") ? prefix + ".bias" : null, outFeatures, inFeatures);

    /// <summary>Loads a linear layer from rows <paramref name="firstRow"/>.. of a packed matrix (for example
    /// <c>in_proj_weight</c> of <c>nn.MultiheadAttention</c>, or a fused qkv).</summary>
    public LinearLayer LinearSlice(string weight, string? bias, int totalRows, int firstRow, int rows, int inFeatures)
    {
        var all = Tensor(weight, totalRows, inFeatures);
        var w = all.AsSpan(firstRow * inFeatures, rows * inFeatures).ToArray();
        float[]? b = null;
        if (bias is not null)
        {
            b = Tensor(bias, totalRows).AsSpan(firstRow, rows).ToArray();
        }

        return new LinearLayer(LinearWeight.FromSingle(w, rows, inFeatures), b);
    }

    /// <summary>Loads a matrix stored as <c>[in, out]</c> (used as <c>x @ W</c>) as a linear layer.</summary>
    public LinearLayer TransposedLinear(string weight, int inFeatures, int outFeatures, long[]? storedShape = null, int slice = 0)
    {
        var shape = storedShape ?? [inFeatures, outFeatures];
        var all = Tensor(weight, shape);
        var offset = (long)slice * inFeatures * outFeatures;
        var transposed = new float[inFeatures * outFeatures];
        for (var i = 0; i < inFeatures; i++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                transposed[(o * inFeatures) + i] = all[offset + ((long)i * outFeatures) + o];
            }
        }

        return new LinearLayer(LinearWeight.FromSingle(transposed, outFeatures, inFeatures), null);
    }

    /// <summary>Loads a stride = kernel patch convolution <c>[out, in, k, k]</c> as a linear layer over flattened
    /// patches (channel, row, column order), so patch embedding is one GEMM.</summary>
    public LinearLayer PatchConvolution(string weight, string? bias, int outChannels, int inChannels, int kernel)
    {
        var info = Checkpoint.CheckShape(weight, outChannels, inChannels, kernel, kernel);
        return new LinearLayer(Stored(info, outChannels, inChannels * kernel * kernel), bias is null ? null : Tensor(bias, outChannels));
    }

    /// <summary>Loads a LayerNorm (<c>.weight</c> and, when present, <c>.bias</c>).</summary>
    public NormLayer LayerNorm(string prefix, int width, float epsilon) =>
        new(Tensor(prefix + ".weight", width), Contains(prefix + ".bias") ? Tensor(prefix + ".bias", width) : null, epsilon, Rms: false);

    /// <summary>Loads an RMSNorm (<c>.weight</c>).</summary>
    public NormLayer RmsNorm(string prefix, int width, float epsilon) =>
        new(Tensor(prefix + ".weight", width), null, epsilon, Rms: true);

    /// <summary>A weight matrix as stored: F32/F16/BF16 memory-mapped without a copy, anything else converted.</summary>
    private LinearWeight Stored(SafeTensorInfo info, int rows, int columns) =>
        info.DType is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16
            ? LinearWeight.FromBytes(Checkpoint.GetBytes(info.Name), info.DType, rows, columns)
            : LinearWeight.FromSingle(Checkpoint.ReadSingle(info.Name), rows, columns);
}
