// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>Conversions between float32 and the 16-bit float formats of checkpoints (IEEE half, bfloat16), reading
/// possibly unaligned little-endian bytes.</summary>
internal static class HalfConvert
{
    /// <summary>Converts IEEE half-precision values (2 bytes each) to float32 exactly.</summary>
    /// <param name="source">The little-endian half values, any alignment.</param>
    /// <param name="destination">Receives <c>source.Length / 2</c> values.</param>
    public static void HalfToSingle(ReadOnlySpan<byte> source, Span<float> destination) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);

    /// <summary>Converts bfloat16 values (2 bytes each, the upper half of a float32) to float32 exactly.</summary>
    /// <param name="source">The little-endian bfloat16 values, any alignment.</param>
    /// <param name="destination">Receives <c>source.Length / 2</c> values.</param>
    public static void BFloat16ToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var count = source.Length / 2;
        destination = destination[..count];
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - 16; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref src, i * 2)));
                var (lower, upper) = Vector256.Widen(v);
                (lower << 16).StoreUnsafe(ref dst, (nuint)i);
                (upper << 16).StoreUnsafe(ref dst, (nuint)(i + 8));
            }
        }

        for (; i < count; i++)
        {
            Unsafe.Add(ref dst, i) = (uint)Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref src, i * 2)) << 16;
        }
    }

    /// <summary>Converts one bfloat16 bit pattern to float32.</summary>
    /// <param name="bits">The bfloat16 bits.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Converts float32 to bfloat16 bits, rounding to nearest even (as PyTorch); NaN stays NaN.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The bfloat16 bits.</returns>
    public static ushort SingleToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
