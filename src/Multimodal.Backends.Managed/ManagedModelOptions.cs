// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed;

/// <summary>How the managed backend loads and runs a checkpoint.</summary>
public sealed class ManagedModelOptions
{
    /// <summary>Gets or sets the format the language model's linear layers are converted to at load;
    /// <see langword="null"/> keeps them as stored (bf16/fp16 stay compact and are converted inside the kernels).</summary>
    /// <remarks><see cref="WeightFormat.Int8"/> is per output channel; the int4 formats use <see cref="GroupSize"/>.
    /// Embeddings, norms, biases and the vision tower stay as stored.</remarks>
    public WeightFormat? Quantization { get; set; }

    /// <summary>Gets or sets the int4 group size (input channels per scale): 32, 64 or 128.</summary>
    public int GroupSize { get; set; } = 64;

    /// <summary>Gets or sets the fraction of the quantizable layers stored in int4 when <see cref="Quantization"/> is an
    /// int4 format, the rest in int8 (NNCF's <c>ratio</c>, for example 0.8). The layers whose int4 error is smallest
    /// (relative to their weights) are chosen first. 1 puts every layer in int4.</summary>
    public double Int4Ratio { get; set; } = 1.0;

    /// <summary>Gets or sets the most threads one kernel uses; 0 uses every core.</summary>
    public int MaxDegreeOfParallelism { get; set; }

    /// <summary>Gets or sets the most positions one state may hold; 0 uses the model's <c>max_position_embeddings</c>.</summary>
    public int ContextLength { get; set; }

    internal Kernels.ComputeContext CreateContext() =>
        new(MaxDegreeOfParallelism > 0 ? MaxDegreeOfParallelism : Environment.ProcessorCount);

    internal void Validate()
    {
        if (GroupSize is not (32 or 64 or 128))
        {
            throw new ArgumentOutOfRangeException(nameof(GroupSize), GroupSize, "The int4 group size must be 32, 64 or 128.");
        }

        if (Int4Ratio is < 0 or > 1 || double.IsNaN(Int4Ratio))
        {
            throw new ArgumentOutOfRangeException(nameof(Int4Ratio), Int4Ratio, "The int4 ratio must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(MaxDegreeOfParallelism);
        ArgumentOutOfRangeException.ThrowIfNegative(ContextLength);
    }
}
