// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>One tensor's entry in a safetensors header, already validated against the file.</summary>
/// <param name="Name">The tensor name, for example <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions, outermost first (empty for a scalar).</param>
/// <param name="FilePath">The file holding the data.</param>
/// <param name="Offset">The data's absolute byte offset in <paramref name="FilePath"/>.</param>
/// <param name="ByteLength">The data's length in bytes (element count × element size).</param>
public sealed record SafeTensorInfo(string Name, TensorDType DType, IReadOnlyList<long> Shape, string FilePath, long Offset, long ByteLength)
{
    /// <summary>Gets the number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
