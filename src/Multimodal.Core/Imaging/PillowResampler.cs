// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.Intrinsics;
using Multimodal.Preprocessing;

namespace Multimodal.Imaging;

/// <summary>Resampling filters, numbered as Pillow's <c>Image.Resampling</c>.</summary>
public enum ResampleFilter
{
    /// <summary>Nearest neighbour.</summary>
    Nearest = 0,

    /// <summary>Lanczos (a = 3, sinc-windowed sinc).</summary>
    Lanczos = 1,

    /// <summary>Bilinear (triangle) filter.</summary>
    Bilinear = 2,

    /// <summary>Bicubic (Keys, a = −0.5): the default for RGB images in Pillow and in every family's preprocessing.</summary>
    Bicubic = 3,

    /// <summary>Box filter (area averaging when downscaling).</summary>
    Box = 4,

    /// <summary>Hamming-windowed sinc.</summary>
    Hamming = 5,
}

/// <summary>
/// Pillow's resampler (libImaging/Resample.c), reproduced bit for bit: separable two-pass convolution, horizontal
/// pass first, each output pixel's kernel scaled by max(1, in/out) when downscaling (antialiasing), coefficients
/// normalised to sum 1 and converted to 22-bit fixed point, rounding and clipping to 8 bits after each pass.
/// </summary>
internal static class PillowResampler
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes interleaved 8-bit pixels (1, 3 or 4 channels) from the region <paramref name="box"/> of the source.</summary>
    public static byte[] Resize(ReadOnlySpan<byte> source, int width, int height, int stride, int channels, int outWidth, int outHeight, ResampleFilter filter, (float X0, float Y0, float X1, float Y1) box)
    {
        if (filter == ResampleFilter.Nearest)
        {
            return Nearest(source, width, height, stride, channels, outWidth, outHeight, box);
        }

        var output = GC.AllocateUninitializedArray<byte>(outWidth * outHeight * channels);
        Resize(source, width, height, stride, channels, outWidth, outHeight, filter, box, new PixelBox(0, 0, outWidth, outHeight), output, outWidth * channels);
        return output;
    }

    /// <summary>
    /// Computes the <paramref name="window"/> of an <paramref name="outWidth"/> × <paramref name="outHeight"/> resize
    /// and writes it to <paramref name="destination"/> (rows <paramref name="destinationStride"/> bytes apart). Every
    /// output pixel depends only on its own coefficients, so a window equals the same region cut from the full resize:
    /// resize-then-crop and resize-then-paste need no intermediate image. Not for <see cref="ResampleFilter.Nearest"/>.
    /// </summary>
    public static void Resize(ReadOnlySpan<byte> source, int width, int height, int stride, int channels, int outWidth, int outHeight, ResampleFilter filter, (float X0, float Y0, float X1, float Y1) box, PixelBox window, Span<byte> destination, int destinationStride)
    {
        if (window.Left < 0 || window.Top < 0 || window.Right > outWidth || window.Bottom > outHeight || window.Width <= 0 || window.Height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, $"The window must be a non-empty part of the {outWidth}x{outHeight} output.");
        }

        var (support, kernel) = Filter(filter);
        var needHorizontal = outWidth != width || box.X0 != 0 || box.X1 != outWidth;
        var needVertical = outHeight != height || box.Y0 != 0 || box.Y1 != outHeight;

        var (kh, boundsH, coeffsH) = Coefficients(width, box.X0, box.X1, outWidth, support, kernel, window.Left, window.Width);
        var (kv, boundsV, coeffsV) = Coefficients(height, box.Y0, box.Y1, outHeight, support, kernel, window.Top, window.Height);
        var windowWidth = window.Width;
        var windowHeight = window.Height;

        // Only the source columns the window reads are transposed, and only the source rows it reads are resampled
        // horizontally (xmin and ymin never decrease along the output).
        var firstColumn = needHorizontal ? boundsH[0] : window.Left;
        for (var i = 0; i < windowWidth && needHorizontal; i++)
        {
            boundsH[i * 2] -= firstColumn;
        }

        source = source[(firstColumn * channels)..];
        var firstRow = boundsV[0];
        var lastRow = boundsV[(windowHeight * 2) - 2] + boundsV[(windowHeight * 2) - 1];

        if (!needHorizontal)
        {
            // The vertical pass reads the source in place, at its own row offsets.
            Vertical(source, stride, windowWidth, channels, windowHeight, kv, boundsV, coeffsV, destination, destinationStride);
            return;
        }

        if (!needVertical)
        {
            Horizontal(source, stride, channels, window.Top, windowHeight, windowWidth, kh, boundsH, coeffsH, destination, destinationStride);
            return;
        }

        for (var i = 0; i < windowHeight; i++)
        {
            boundsV[i * 2] -= firstRow;
        }

        var currentHeight = lastRow - firstRow;
        var currentStride = windowWidth * channels;
        var current = ArrayPool<byte>.Shared.Rent(currentStride * currentHeight);
        try
        {
            Horizontal(source, stride, channels, firstRow, currentHeight, windowWidth, kh, boundsH, coeffsH, current, currentStride);
            Vertical(current.AsSpan(0, currentStride * currentHeight), currentStride, windowWidth, channels, windowHeight, kv, boundsV, coeffsV, destination, destinationStride);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
        }
    }

    /// <summary>Pillow's precompute_coeffs followed by normalize_coeffs_8bpc.</summary>
    /// <remarks>Only the outputs <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1 are kept.</remarks>
    private static (int KSize, int[] Bounds, int[] Coeffs) Coefficients(int inSize, float in0, float in1, int outSize, double filterSupport, Func<double, double> kernel, int first, int count)
    {
        var scale = (double)(in1 - in0) / outSize;
        var filterScale = scale < 1.0 ? 1.0 : scale;
        var support = filterSupport * filterScale;
        var ksize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[count * 2];
        var coeffs = new int[count * ksize];
        var k = new double[ksize];
        for (var xx = first; xx < first + count; xx++)
        {
            var center = in0 + ((xx + 0.5) * scale);
            var ss = 1.0 / filterScale;

            // C's (int) cast truncates toward zero.
            var xmin = (int)(center - support + 0.5);
            if (xmin < 0)
            {
                xmin = 0;
            }

            var xmax = (int)(center + support + 0.5);
            if (xmax > inSize)
            {
                xmax = inSize;
            }

            xmax -= xmin;
            var ww = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var w = kernel((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }

            for (var x = 0; x < xmax; x++)
            {
                if (ww != 0.0)
                {
                    k[x] /= ww;
                }
            }

            for (var x = 0; x < ksize; x++)
            {
                var v = x < xmax ? k[x] : 0.0;
                coeffs[((xx - first) * ksize) + x] = v < 0
                    ? (int)(-0.5 + (v * (1 << PrecisionBits)))
                    : (int)(0.5 + (v * (1 << PrecisionBits)));
            }

            bounds[(xx - first) * 2] = xmin;
            bounds[((xx - first) * 2) + 1] = xmax;
        }

        return (ksize, bounds, coeffs);
    }

    private static byte Clip8(int value)
    {
        if (value >= 255 << PrecisionBits)
        {
            return 255;
        }

        return value <= 0 ? (byte)0 : (byte)(value >> PrecisionBits);
    }

    private static unsafe void Horizontal(ReadOnlySpan<byte> source, int stride, int channels, int rowOffset, int rows, int outWidth, int ksize, int[] bounds, int[] coeffs, Span<byte> output, int outStride)
    {
        const int Half = 1 << (PrecisionBits - 1);
        fixed (byte* srcBase = source)
        fixed (byte* outBase = output)
        fixed (int* boundsBase = bounds)
        fixed (int* coeffBase = coeffs)
        {
            // Pointers cross into the parallel loop as integers (a lambda cannot capture them).
            nint src0 = (nint)srcBase, out0 = (nint)outBase, b0 = (nint)boundsBase, k0 = (nint)coeffBase;
            void Rows(int from, int to)
            {
                var boundsPtr = (int*)b0;
                var y = from;
                if (Vector256.IsHardwareAccelerated)
                {
                    y = HorizontalBlocks8((byte*)src0 + ((long)rowOffset * stride), stride, channels, from, to, outWidth, ksize, boundsPtr, (int*)k0, (byte*)out0, outStride);
                }

                for (; y < to; y++)
                {
                    var src = (byte*)src0 + ((long)(y + rowOffset) * stride);
                    var dst = (byte*)out0 + ((long)y * outStride);
                    for (var xx = 0; xx < outWidth; xx++)
                    {
                        var xmin = boundsPtr[xx * 2];
                        var xmax = boundsPtr[(xx * 2) + 1];
                        var k = (int*)k0 + (xx * ksize);
                        var p = src + (xmin * channels);
                        if (channels == 3)
                        {
                            int s0 = Half, s1 = Half, s2 = Half;
                            for (var x = 0; x < xmax; x++, p += 3)
                            {
                                var w = k[x];
                                s0 += p[0] * w;
                                s1 += p[1] * w;
                                s2 += p[2] * w;
                            }

                            var d = dst + (xx * 3);
                            d[0] = Clip8(s0);
                            d[1] = Clip8(s1);
                            d[2] = Clip8(s2);
                        }
                        else if (channels == 4)
                        {
                            int s0 = Half, s1 = Half, s2 = Half, s3 = Half;
                            for (var x = 0; x < xmax; x++, p += 4)
                            {
                                var w = k[x];
                                s0 += p[0] * w;
                                s1 += p[1] * w;
                                s2 += p[2] * w;
                                s3 += p[3] * w;
                            }

                            var d = dst + (xx * 4);
                            d[0] = Clip8(s0);
                            d[1] = Clip8(s1);
                            d[2] = Clip8(s2);
                            d[3] = Clip8(s3);
                        }
                        else
                        {
                            var s0 = Half;
                            for (var x = 0; x < xmax; x++)
                            {
                                s0 += p[x] * k[x];
                            }

                            dst[xx] = Clip8(s0);
                        }
                    }
                }
            }

            ParallelRows(rows, (long)rows * outWidth * ksize * channels, Rows);
        }
    }

    /// <summary>
    /// Horizontal pass over blocks of 8 rows: the block is transposed into ints so that the 8 rows of one column and
    /// channel sit in one vector; each tap is then one 8-wide multiply-add, with the same integer sums as Pillow.
    /// Returns the first row it did not process (the scalar loop finishes the remainder).
    /// </summary>
    private static unsafe int HorizontalBlocks8(byte* src, int stride, int channels, int from, int to, int outWidth, int ksize, int* bounds, int* coeffs, byte* output, int outStride)
    {
        const int Half = 1 << (PrecisionBits - 1);
        var inWidth = 0;
        for (var xx = 0; xx < outWidth; xx++)
        {
            inWidth = Math.Max(inWidth, bounds[xx * 2] + bounds[(xx * 2) + 1]);
        }

        var lanes = inWidth * channels;
        var transposed = new int[lanes * 8];
        Span<int> result = stackalloc int[8];
        var y = from;
        fixed (int* t = transposed)
        {
            for (; y + 8 <= to; y += 8)
            {
                // Sequential writes from eight row streams (a row-by-row transpose would write with a 32-byte stride).
                var r0 = src + ((long)y * stride);
                var r1 = r0 + stride;
                var r2 = r1 + stride;
                var r3 = r2 + stride;
                var r4 = r3 + stride;
                var r5 = r4 + stride;
                var r6 = r5 + stride;
                var r7 = r6 + stride;
                var tp = t;
                for (var i = 0; i < lanes; i++, tp += 8)
                {
                    Vector256.Create(r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i]).Store(tp);
                }

                for (var xx = 0; xx < outWidth; xx++)
                {
                    var xmin = bounds[xx * 2];
                    var xmax = bounds[(xx * 2) + 1];
                    var k = coeffs + (xx * ksize);
                    for (var c = 0; c < channels; c++)
                    {
                        var acc = Vector256.Create(Half);
                        var p = t + ((((xmin * channels) + c)) * 8);
                        var step = channels * 8;
                        for (var x = 0; x < xmax; x++, p += step)
                        {
                            acc += Vector256.Load(p) * Vector256.Create(k[x]);
                        }

                        var clipped = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(acc, PrecisionBits), Vector256<int>.Zero), Vector256.Create(255));
                        clipped.CopyTo(result);
                        var o = output + ((long)y * outStride) + (xx * channels) + c;
                        for (var r = 0; r < 8; r++)
                        {
                            o[(long)r * outStride] = (byte)result[r];
                        }
                    }
                }
            }
        }

        return y;
    }

    private static unsafe void Vertical(ReadOnlySpan<byte> source, int stride, int width, int channels, int outHeight, int ksize, int[] bounds, int[] coeffs, Span<byte> output, int outStride)
    {
        const int Half = 1 << (PrecisionBits - 1);
        var rowBytes = width * channels;
        fixed (byte* srcBase = source)
        fixed (byte* outBase = output)
        {
            nint src0 = (nint)srcBase, out0 = (nint)outBase;
            void Rows(int from, int to)
            {
                for (var yy = from; yy < to; yy++)
                {
                    var ymin = bounds[yy * 2];
                    var ymax = bounds[(yy * 2) + 1];
                    var k = coeffs.AsSpan(yy * ksize, ksize);
                    var first = (byte*)src0 + ((long)ymin * stride);
                    var dst = (byte*)out0 + ((long)yy * outStride);
                    var i = 0;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        // 32 bytes at a time: widen to four vectors of eight ints, multiply-add every tap in registers,
                        // then clamp(sum >> 22, 0, 255), which equals Pillow's clip8, and narrow back to bytes.
                        for (; i + 32 <= rowBytes; i += 32)
                        {
                            var a0 = Vector256.Create(Half);
                            var a1 = a0;
                            var a2 = a0;
                            var a3 = a0;
                            var p = first + i;
                            for (var y = 0; y < ymax; y++, p += stride)
                            {
                                var w = Vector256.Create(k[y]);
                                var (lo, hi) = Vector256.Widen(Vector256.Load(p));
                                var (l0, l1) = Vector256.Widen(lo);
                                var (h0, h1) = Vector256.Widen(hi);
                                a0 += l0.AsInt32() * w;
                                a1 += l1.AsInt32() * w;
                                a2 += h0.AsInt32() * w;
                                a3 += h1.AsInt32() * w;
                            }

                            var max = Vector256.Create(255);
                            var c0 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a0, PrecisionBits), Vector256<int>.Zero), max).AsUInt32();
                            var c1 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a1, PrecisionBits), Vector256<int>.Zero), max).AsUInt32();
                            var c2 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a2, PrecisionBits), Vector256<int>.Zero), max).AsUInt32();
                            var c3 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a3, PrecisionBits), Vector256<int>.Zero), max).AsUInt32();
                            Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3)).Store(dst + i);
                        }
                    }

                    for (; i < rowBytes; i++)
                    {
                        var s = Half;
                        var p = first + i;
                        for (var y = 0; y < ymax; y++, p += stride)
                        {
                            s += *p * k[y];
                        }

                        dst[i] = Clip8(s);
                    }
                }
            }

            ParallelRows(outHeight, (long)outHeight * rowBytes * ksize, Rows);
        }
    }

    /// <summary>Splits rows over the cores when the work is large enough to pay for it.</summary>
    private static void ParallelRows(int rows, long work, Action<int, int> body)
    {
        var chunks = work < 2_000_000 ? 1 : Math.Min(Environment.ProcessorCount, Math.Max(1, rows / 8));
        if (chunks <= 1)
        {
            body(0, rows);
            return;
        }

        Parallel.For(0, chunks, c => body((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }

    /// <summary>Pillow's nearest-neighbour path: an affine scale whose source coordinates accumulate in double.</summary>
    private static byte[] Nearest(ReadOnlySpan<byte> source, int width, int height, int stride, int channels, int outWidth, int outHeight, (float X0, float Y0, float X1, float Y1) box)
    {
        var a0 = (double)(box.X1 - box.X0) / outWidth;
        var a4 = (double)(box.Y1 - box.Y0) / outHeight;
        var xintab = new int[outWidth];
        var valid = new bool[outWidth];
        var xo = box.X0 + (a0 * 0.5);
        for (var x = 0; x < outWidth; x++)
        {
            var xin = xo < 0.0 ? -1 : (int)xo;
            valid[x] = xin >= 0 && xin < width;
            xintab[x] = xin;
            xo += a0;
        }

        var output = new byte[outWidth * outHeight * channels];
        var yo = box.Y0 + (a4 * 0.5);
        for (var y = 0; y < outHeight; y++)
        {
            var yi = yo < 0.0 ? -1 : (int)yo;
            if (yi >= 0 && yi < height)
            {
                var src = source.Slice(yi * stride);
                var dst = output.AsSpan(y * outWidth * channels);
                for (var x = 0; x < outWidth; x++)
                {
                    if (valid[x])
                    {
                        src.Slice(xintab[x] * channels, channels).CopyTo(dst.Slice(x * channels));
                    }
                }
            }

            yo += a4;
        }

        return output;
    }

    private static (double Support, Func<double, double> Kernel) Filter(ResampleFilter filter) => filter switch
    {
        ResampleFilter.Box => (0.5, static x => x > -0.5 && x <= 0.5 ? 1.0 : 0.0),
        ResampleFilter.Bilinear => (1.0, static x =>
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }),
        ResampleFilter.Hamming => (1.0, static x =>
        {
            x = Math.Abs(x);
            if (x == 0.0)
            {
                return 1.0;
            }

            if (x >= 1.0)
            {
                return 0.0;
            }

            // Pillow writes these constants as float literals (0.54f, 0.46f); the promotion to double is part of the result.
            x *= Math.PI;
            return Math.Sin(x) / x * ((double)0.54f + ((double)0.46f * Math.Cos(x)));
        }),
        ResampleFilter.Bicubic => (2.0, static x =>
        {
            const double A = -0.5;
            x = Math.Abs(x);
            if (x < 1.0)
            {
                return ((((A + 2.0) * x) - (A + 3.0)) * x * x) + 1;
            }

            return x < 2.0 ? ((((x - 5) * x) + 8) * x - 4) * A : 0.0;
        }),
        ResampleFilter.Lanczos => (3.0, static x => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0),
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "Unknown resampling filter."),
    };

    private static double Sinc(double x)
    {
        if (x == 0.0)
        {
            return 1.0;
        }

        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
