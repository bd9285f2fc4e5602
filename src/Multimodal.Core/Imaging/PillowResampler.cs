// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

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

        var (support, kernel) = Filter(filter);
        var needHorizontal = outWidth != width || box.X0 != 0 || box.X1 != outWidth;
        var needVertical = outHeight != height || box.Y0 != 0 || box.Y1 != outHeight;

        var (kh, boundsH, coeffsH) = Coefficients(width, box.X0, box.X1, outWidth, support, kernel);
        var (kv, boundsV, coeffsV) = Coefficients(height, box.Y0, box.Y1, outHeight, support, kernel);

        // Only the source rows the vertical pass reads are resampled horizontally.
        var firstRow = boundsV[0];
        var lastRow = boundsV[(outHeight * 2) - 2] + boundsV[(outHeight * 2) - 1];

        byte[] current;
        int currentWidth, currentHeight, currentStride;
        if (needHorizontal)
        {
            for (var i = 0; i < outHeight; i++)
            {
                boundsV[i * 2] -= firstRow;
            }

            currentHeight = lastRow - firstRow;
            currentWidth = outWidth;
            currentStride = outWidth * channels;
            current = new byte[currentStride * currentHeight];
            Horizontal(source, stride, channels, firstRow, currentHeight, outWidth, kh, boundsH, coeffsH, current);
        }
        else
        {
            // The vertical pass reads the source directly (at its own offsets).
            current = source.ToArray();
            currentWidth = width;
            currentHeight = height;
            currentStride = stride;
        }

        if (!needVertical)
        {
            return Tight(current, currentWidth, currentHeight, currentStride, channels);
        }

        var output = new byte[outWidth * outHeight * channels];
        Vertical(current, currentStride, currentWidth, channels, outHeight, kv, boundsV, coeffsV, output);
        return output;
    }

    /// <summary>Pillow's precompute_coeffs followed by normalize_coeffs_8bpc.</summary>
    private static (int KSize, int[] Bounds, int[] Coeffs) Coefficients(int inSize, float in0, float in1, int outSize, double filterSupport, Func<double, double> kernel)
    {
        var scale = (double)(in1 - in0) / outSize;
        var filterScale = scale < 1.0 ? 1.0 : scale;
        var support = filterSupport * filterScale;
        var ksize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[outSize * 2];
        var coeffs = new int[outSize * ksize];
        var k = new double[ksize];
        for (var xx = 0; xx < outSize; xx++)
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
                coeffs[(xx * ksize) + x] = v < 0
                    ? (int)(-0.5 + (v * (1 << PrecisionBits)))
                    : (int)(0.5 + (v * (1 << PrecisionBits)));
            }

            bounds[xx * 2] = xmin;
            bounds[(xx * 2) + 1] = xmax;
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

    private static void Horizontal(ReadOnlySpan<byte> source, int stride, int channels, int rowOffset, int rows, int outWidth, int ksize, int[] bounds, int[] coeffs, byte[] output)
    {
        const int Half = 1 << (PrecisionBits - 1);
        var outStride = outWidth * channels;
        for (var y = 0; y < rows; y++)
        {
            var src = source.Slice((y + rowOffset) * stride);
            var dst = output.AsSpan(y * outStride, outStride);
            for (var xx = 0; xx < outWidth; xx++)
            {
                var xmin = bounds[xx * 2];
                var xmax = bounds[(xx * 2) + 1];
                var k = coeffs.AsSpan(xx * ksize, ksize);
                var p = src.Slice(xmin * channels);
                if (channels == 3)
                {
                    int s0 = Half, s1 = Half, s2 = Half;
                    for (var x = 0; x < xmax; x++)
                    {
                        var w = k[x];
                        var o = x * 3;
                        s0 += p[o] * w;
                        s1 += p[o + 1] * w;
                        s2 += p[o + 2] * w;
                    }

                    var d = xx * 3;
                    dst[d] = Clip8(s0);
                    dst[d + 1] = Clip8(s1);
                    dst[d + 2] = Clip8(s2);
                }
                else
                {
                    for (var c = 0; c < channels; c++)
                    {
                        var s = Half;
                        for (var x = 0; x < xmax; x++)
                        {
                            s += p[(x * channels) + c] * k[x];
                        }

                        dst[(xx * channels) + c] = Clip8(s);
                    }
                }
            }
        }
    }

    private static void Vertical(byte[] source, int stride, int width, int channels, int outHeight, int ksize, int[] bounds, int[] coeffs, byte[] output)
    {
        const int Half = 1 << (PrecisionBits - 1);
        var rowBytes = width * channels;
        var sums = new int[rowBytes];
        for (var yy = 0; yy < outHeight; yy++)
        {
            var ymin = bounds[yy * 2];
            var ymax = bounds[(yy * 2) + 1];
            var k = coeffs.AsSpan(yy * ksize, ksize);
            Array.Fill(sums, Half);

            // Row by row accumulation: the same sums as Pillow's per-pixel loop, in cache order.
            for (var y = 0; y < ymax; y++)
            {
                var w = k[y];
                var row = source.AsSpan((y + ymin) * stride, rowBytes);
                for (var i = 0; i < rowBytes; i++)
                {
                    sums[i] += row[i] * w;
                }
            }

            var dst = output.AsSpan(yy * rowBytes, rowBytes);
            for (var i = 0; i < rowBytes; i++)
            {
                dst[i] = Clip8(sums[i]);
            }
        }
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

    private static byte[] Tight(byte[] pixels, int width, int height, int stride, int channels)
    {
        var rowBytes = width * channels;
        if (stride == rowBytes && pixels.Length == rowBytes * height)
        {
            return pixels;
        }

        var output = new byte[rowBytes * height];
        for (var y = 0; y < height; y++)
        {
            pixels.AsSpan(y * stride, rowBytes).CopyTo(output.AsSpan(y * rowBytes));
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
