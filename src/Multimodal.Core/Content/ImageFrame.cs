// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>The memory layout of one pixel in an <see cref="ImageFrame"/>.</summary>
public enum ImagePixelFormat
{
    /// <summary>Three bytes per pixel: red, green, blue.</summary>
    Rgb24,

    /// <summary>Four bytes per pixel: red, green, blue, alpha (straight, not premultiplied).</summary>
    Rgba32,

    /// <summary>One byte per pixel: luminance.</summary>
    Gray8,
}

/// <summary>Decoded 8-bit pixels: an image, a rendered PDF page or a video frame.</summary>
/// <remarks>Rows are stored top to bottom, each <see cref="RowStride"/> bytes apart. The frame wraps the memory it is given.</remarks>
public sealed class ImageFrame
{
    /// <summary>Initializes a frame over existing pixel memory.</summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="format">The pixel layout.</param>
    /// <param name="pixels">The pixel bytes, row after row.</param>
    /// <param name="rowStride">Bytes from one row to the next; 0 means tightly packed.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the stride is shorter than a row.</exception>
    /// <exception cref="ArgumentException">The buffer is too small for the stated size.</exception>
    public ImageFrame(int width, int height, ImagePixelFormat format, ReadOnlyMemory<byte> pixels, int rowStride = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var rowBytes = checked(width * BytesPerPixelOf(format));
        if (rowStride == 0)
        {
            rowStride = rowBytes;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(rowStride, rowBytes);
        var needed = checked(((long)rowStride * (height - 1)) + rowBytes);
        if (pixels.Length < needed)
        {
            throw new ArgumentException($"A {width}x{height} {format} frame with stride {rowStride} needs {needed} bytes; the buffer has {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Format = format;
        Pixels = pixels;
        RowStride = rowStride;
    }

    /// <summary>Gets the width in pixels.</summary>
    public int Width { get; }

    /// <summary>Gets the height in pixels.</summary>
    public int Height { get; }

    /// <summary>Gets the pixel layout.</summary>
    public ImagePixelFormat Format { get; }

    /// <summary>Gets the pixel bytes.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    /// <summary>Gets the distance in bytes between the starts of two consecutive rows.</summary>
    public int RowStride { get; }

    /// <summary>Gets the number of bytes per pixel of <see cref="Format"/>.</summary>
    public int BytesPerPixel => BytesPerPixelOf(Format);

    /// <summary>Gets one row of pixels.</summary>
    /// <param name="y">The row, 0 at the top.</param>
    /// <returns>The row's bytes (width × bytes per pixel).</returns>
    public ReadOnlySpan<byte> GetRow(int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        return Pixels.Span.Slice(y * RowStride, Width * BytesPerPixel);
    }

    /// <summary>Gets the bytes per pixel of a format.</summary>
    /// <param name="format">The format.</param>
    /// <returns>1, 3 or 4.</returns>
    public static int BytesPerPixelOf(ImagePixelFormat format) => format switch
    {
        ImagePixelFormat.Rgb24 => 3,
        ImagePixelFormat.Rgba32 => 4,
        ImagePixelFormat.Gray8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown pixel format."),
    };

    /// <inheritdoc />
    public override string ToString() => $"ImageFrame {Width}x{Height} {Format}";
}
