// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;

namespace Multimodal;

/// <summary>Conversions of float32 tensors to the half-precision formats vision encoders run in.</summary>
public static class TensorConversions
{
    /// <summary>Converts to IEEE float16 (round to nearest even).</summary>
    /// <param name="tensor">The float32 tensor.</param>
    /// <returns>A tensor of the same shape.</returns>
    public static DenseTensor<Half> ToFloat16(this DenseTensor<float> tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var output = new Half[tensor.Length];
        TensorPrimitives.ConvertToHalf(tensor.Span, output);
        return new DenseTensor<Half>(output, tensor.Shape);
    }

    /// <summary>Converts to bfloat16, returned as the raw 16-bit patterns, rounding to nearest even as PyTorch does (NaN stays a quiet NaN).</summary>
    /// <param name="tensor">The float32 tensor.</param>
    /// <returns>A tensor of the same shape holding bfloat16 bit patterns.</returns>
    public static DenseTensor<ushort> ToBFloat16Bits(this DenseTensor<float> tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var src = tensor.Span;
        var output = new ushort[src.Length];
        for (var i = 0; i < src.Length; i++)
        {
            output[i] = ToBFloat16Bits(src[i]);
        }

        return new DenseTensor<ushort>(output, tensor.Shape);
    }

    /// <summary>Converts one value to bfloat16 bits (round to nearest even; NaN → 0x7FC0).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The bfloat16 bit pattern.</returns>
    public static ushort ToBFloat16Bits(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }

        var bits = BitConverter.SingleToUInt32Bits(value);
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
