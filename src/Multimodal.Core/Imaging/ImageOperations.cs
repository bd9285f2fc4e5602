// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Preprocessing;

namespace Multimodal.Imaging;

/// <summary>Pixel operations with Pillow's exact semantics: resize, crop, paste, expand to square.</summary>
/// <remarks>All operations return new, tightly packed frames and never modify their input. Thread-safe.</remarks>
public static class ImageOperations
{
    /// <summary>Resizes an image as Pillow's <c>Image.resize(size, resample)</c> does, bit for bit.</summary>
    /// <param name="image">An 8-bit <see cref="ImagePixelFormat.Gray8"/>, <see cref="ImagePixelFormat.Rgb24"/> or <see cref="ImagePixelFormat.Rgba32"/> image.</param>
    /// <param name="width">The output width.</param>
    /// <param name="height">The output height.</param>
    /// <param name="filter">The filter; Pillow's default for these modes is <see cref="ResampleFilter.Bicubic"/>.</param>
    /// <returns>The resized image (a copy when the size is unchanged, as in Pillow).</returns>
    /// <remarks>RGBA images are resampled with premultiplied alpha (Pillow converts to "RGBa" and back), except with <see cref="ResampleFilter.Nearest"/>.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static ImageFrame Resize(ImageFrame image, int width, int height, ResampleFilter filter = ResampleFilter.Bicubic)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Resize(image, width, height, filter, (0f, 0f, image.Width, image.Height));
    }

    /// <summary>Resizes a region of an image as Pillow's <c>Image.resize(size, resample, box)</c> does.</summary>
    /// <param name="image">An 8-bit image.</param>
    /// <param name="width">The output width.</param>
    /// <param name="height">The output height.</param>
    /// <param name="filter">The filter.</param>
    /// <param name="box">The source region (left, top, right, bottom) in pixels, possibly fractional.</param>
    /// <returns>The resized region.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the box is outside the image.</exception>
    public static ImageFrame Resize(ImageFrame image, int width, int height, ResampleFilter filter, (float Left, float Top, float Right, float Bottom) box)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (box.Left < 0 || box.Top < 0 || box.Right > image.Width || box.Bottom > image.Height || box.Right < box.Left || box.Bottom < box.Top)
        {
            throw new ArgumentOutOfRangeException(nameof(box), box, $"The box must lie within the {image.Width}x{image.Height} image.");
        }

        var unchanged = width == image.Width && height == image.Height && box == (0f, 0f, image.Width, image.Height);
        if (unchanged)
        {
            return Copy(image);
        }

        var channels = image.BytesPerPixel;
        var converted = image.Format == ImagePixelFormat.Rgba32 && filter != ResampleFilter.Nearest;
        var source = converted ? Premultiply(image) : image;
        var pixels = PillowResampler.Resize(source.Pixels.Span, source.Width, source.Height, source.RowStride, channels, width, height, filter, (box.Left, box.Top, box.Right, box.Bottom));
        if (converted)
        {
            Unpremultiply(pixels);
        }

        return new ImageFrame(width, height, image.Format, pixels);
    }

    /// <summary>
    /// Resizes and crops in one pass: the same pixels as <c>Crop(Resize(image, width, height, filter), crop)</c>, but only
    /// the kept region is resampled and no intermediate image is made (CLIP's resize + centre crop).
    /// </summary>
    /// <param name="image">An 8-bit image.</param>
    /// <param name="width">The width of the full resize.</param>
    /// <param name="height">The height of the full resize.</param>
    /// <param name="filter">The filter.</param>
    /// <param name="crop">The region of the resized image to keep; it must lie within <paramref name="width"/> × <paramref name="height"/>.</param>
    /// <returns>The cropped region of the resize.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the crop is empty or outside the resized image.</exception>
    public static ImageFrame ResizeAndCrop(ImageFrame image, int width, int height, ResampleFilter filter, PixelBox crop)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (crop.Left < 0 || crop.Top < 0 || crop.Right > width || crop.Bottom > height || crop.Width <= 0 || crop.Height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(crop), crop, $"The crop must be a non-empty part of the {width}x{height} resize.");
        }

        if (!CanResizeDirectly(image, width, height, filter))
        {
            return Crop(Resize(image, width, height, filter), crop.Left, crop.Top, crop.Right, crop.Bottom);
        }

        var bpp = image.BytesPerPixel;
        var pixels = GC.AllocateUninitializedArray<byte>(crop.Width * crop.Height * bpp);
        PillowResampler.Resize(image.Pixels.Span, image.Width, image.Height, image.RowStride, bpp, width, height, filter, (0f, 0f, image.Width, image.Height), crop, pixels, crop.Width * bpp);
        return new ImageFrame(crop.Width, crop.Height, image.Format, pixels);
    }

    /// <summary>
    /// Resizes onto a new canvas in one pass: the same pixels as
    /// <c>Paste(Canvas(canvasWidth, canvasHeight, format, background), Resize(image, width, height, filter), x, y)</c>
    /// (pad after resize, as in LLaVA-NeXT's <c>resize_and_pad_image</c> and Aria's keep-ratio resize), without the
    /// intermediate image; the background is written only where the resized image does not cover the canvas.
    /// </summary>
    /// <param name="image">An 8-bit image.</param>
    /// <param name="width">The resized width.</param>
    /// <param name="height">The resized height.</param>
    /// <param name="filter">The filter.</param>
    /// <param name="canvasWidth">The canvas width.</param>
    /// <param name="canvasHeight">The canvas height.</param>
    /// <param name="x">Where the resized image's left edge goes on the canvas, may be negative (clipped as Pillow's paste).</param>
    /// <param name="y">Where its top edge goes, may be negative.</param>
    /// <param name="background">The canvas colour, one value per channel (missing channels are 0).</param>
    /// <returns>The canvas with the resized image on it.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static ImageFrame ResizeOntoCanvas(ImageFrame image, int width, int height, ResampleFilter filter, int canvasWidth, int canvasHeight, int x, int y, params ReadOnlySpan<byte> background)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(canvasWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(canvasHeight);
        var window = new PixelBox(Math.Max(0, -x), Math.Max(0, -y), Math.Min(width, canvasWidth - x), Math.Min(height, canvasHeight - y));
        if (!CanResizeDirectly(image, width, height, filter) || window.Width <= 0 || window.Height <= 0)
        {
            return Paste(Canvas(canvasWidth, canvasHeight, image.Format, background), Resize(image, width, height, filter), x, y);
        }

        var bpp = image.BytesPerPixel;
        var rowBytes = canvasWidth * bpp;
        var pixels = GC.AllocateUninitializedArray<byte>(rowBytes * canvasHeight);
        Span<byte> pixel = stackalloc byte[bpp];
        pixel.Clear();
        background[..Math.Min(bpp, background.Length)].CopyTo(pixel);

        // The covered rectangle on the canvas; everything else gets the background.
        int left = x + window.Left, top = y + window.Top, right = x + window.Right, bottom = y + window.Bottom;
        for (var row = 0; row < canvasHeight; row++)
        {
            var dst = pixels.AsSpan(row * rowBytes, rowBytes);
            if (row < top || row >= bottom)
            {
                Fill(dst, pixel);
            }
            else
            {
                Fill(dst[..(left * bpp)], pixel);
                Fill(dst[(right * bpp)..], pixel);
            }
        }

        PillowResampler.Resize(image.Pixels.Span, image.Width, image.Height, image.RowStride, bpp, width, height, filter, (0f, 0f, image.Width, image.Height), window, pixels.AsSpan((top * rowBytes) + (left * bpp)), rowBytes);
        return new ImageFrame(canvasWidth, canvasHeight, image.Format, pixels);
    }

    /// <summary>Crops as Pillow's <c>Image.crop(box)</c>: parts of the box outside the image are filled with zeros.</summary>
    /// <param name="image">The image.</param>
    /// <param name="left">Left edge (inclusive), may be negative.</param>
    /// <param name="top">Top edge (inclusive), may be negative.</param>
    /// <param name="right">Right edge (exclusive), may exceed the width.</param>
    /// <param name="bottom">Bottom edge (exclusive), may exceed the height.</param>
    /// <returns>The cropped image.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The box is empty or inverted.</exception>
    public static ImageFrame Crop(ImageFrame image, int left, int top, int right, int bottom)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(right, left);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bottom, top);
        var canvas = new byte[(right - left) * (bottom - top) * image.BytesPerPixel];
        var result = new ImageFrame(right - left, bottom - top, image.Format, canvas);
        PasteInto(canvas, result, image, -left, -top);
        return result;
    }

    /// <summary>Creates an image of one colour (Pillow's <c>Image.new(mode, size, color)</c>).</summary>
    /// <param name="width">The width.</param>
    /// <param name="height">The height.</param>
    /// <param name="format">The pixel format.</param>
    /// <param name="color">The colour, one value per channel (missing channels are 0; alpha defaults to 0 as in Pillow's tuple form).</param>
    /// <returns>The image.</returns>
    public static ImageFrame Canvas(int width, int height, ImagePixelFormat format, params ReadOnlySpan<byte> color)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var bpp = ImageFrame.BytesPerPixelOf(format);
        Span<byte> pixel = stackalloc byte[bpp];
        pixel.Clear();
        color[..Math.Min(bpp, color.Length)].CopyTo(pixel);
        if (!pixel.ContainsAnyExcept((byte)0))
        {
            // A fresh array is already zero: nothing to fill.
            return new ImageFrame(width, height, format, new byte[width * height * bpp]);
        }

        // Fill the first row pixel by pixel, then copy it to the others.
        var rowBytes = width * bpp;
        var pixels = GC.AllocateUninitializedArray<byte>(rowBytes * height);
        var first = pixels.AsSpan(0, rowBytes);
        Fill(first, pixel);

        for (var y = 1; y < height; y++)
        {
            first.CopyTo(pixels.AsSpan(y * rowBytes, rowBytes));
        }

        return new ImageFrame(width, height, format, pixels);
    }

    /// <summary>Returns a copy of <paramref name="target"/> with <paramref name="image"/> pasted at (x, y), clipped to the target (Pillow's <c>Image.paste(im, (x, y))</c> without a mask).</summary>
    /// <param name="target">The image to paste onto.</param>
    /// <param name="image">The image to paste; same pixel format as the target.</param>
    /// <param name="x">The left offset, may be negative.</param>
    /// <param name="y">The top offset, may be negative.</param>
    /// <returns>The combined image.</returns>
    /// <exception cref="ArgumentException">The formats differ.</exception>
    public static ImageFrame Paste(ImageFrame target, ImageFrame image, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(image);
        var buffer = CopyPixels(target);
        var result = new ImageFrame(target.Width, target.Height, target.Format, buffer);
        PasteInto(buffer, result, image, x, y);
        return result;
    }

    /// <summary>Pads an image to a square of its longer side, centred, on a background colour (LLaVA's <c>expand2square</c>).</summary>
    /// <param name="image">The image.</param>
    /// <param name="background">The background colour, one value per channel.</param>
    /// <returns>The square image (the input, copied, when already square).</returns>
    public static ImageFrame ExpandToSquare(ImageFrame image, params ReadOnlySpan<byte> background)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width == image.Height)
        {
            return Copy(image);
        }

        // One allocation: the background is written only where the image will not be.
        var side = Math.Max(image.Width, image.Height);
        var bpp = image.BytesPerPixel;
        var buffer = GC.AllocateUninitializedArray<byte>(side * side * bpp);
        var (x0, y0) = image.Width > image.Height ? (0, (image.Width - image.Height) / 2) : ((image.Height - image.Width) / 2, 0);
        Span<byte> pixel = stackalloc byte[bpp];
        pixel.Clear();
        background[..Math.Min(bpp, background.Length)].CopyTo(pixel);
        for (var row = 0; row < side; row++)
        {
            var dst = buffer.AsSpan(row * side * bpp, side * bpp);
            var inside = row >= y0 && row < y0 + image.Height;
            for (var col = 0; col < side; col++)
            {
                if (inside && col == x0)
                {
                    image.GetRow(row - y0).CopyTo(dst.Slice(col * bpp));
                    col += image.Width - 1;
                    continue;
                }

                pixel.CopyTo(dst.Slice(col * bpp, bpp));
            }
        }

        return new ImageFrame(side, side, image.Format, buffer);
    }

    /// <summary>Converts to RGB as Pillow's <c>convert("RGB")</c> does: alpha is dropped (not composited), grey is replicated.</summary>
    /// <param name="image">The image.</param>
    /// <returns>An <see cref="ImagePixelFormat.Rgb24"/> image.</returns>
    public static ImageFrame ToRgb(ImageFrame image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Format == ImagePixelFormat.Rgb24)
        {
            return image;
        }

        var output = new byte[image.Width * image.Height * 3];
        var bpp = image.BytesPerPixel;
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.GetRow(y);
            var dst = output.AsSpan(y * image.Width * 3);
            for (var x = 0; x < image.Width; x++)
            {
                var p = row.Slice(x * bpp);
                dst[x * 3] = p[0];
                dst[(x * 3) + 1] = bpp == 1 ? p[0] : p[1];
                dst[(x * 3) + 2] = bpp == 1 ? p[0] : p[2];
            }
        }

        return new ImageFrame(image.Width, image.Height, ImagePixelFormat.Rgb24, output);
    }

    /// <summary>Whether the windowed resampler can write the resize directly: not for nearest (its own path), not for
    /// RGBA (resampled premultiplied) and not when the size is unchanged (a copy).</summary>
    private static bool CanResizeDirectly(ImageFrame image, int width, int height, ResampleFilter filter) =>
        filter != ResampleFilter.Nearest && image.Format != ImagePixelFormat.Rgba32 && (width != image.Width || height != image.Height);

    private static void Fill(Span<byte> destination, ReadOnlySpan<byte> pixel)
    {
        if (!pixel.ContainsAnyExcept((byte)0))
        {
            destination.Clear();
            return;
        }

        for (var i = 0; i + pixel.Length <= destination.Length; i += pixel.Length)
        {
            pixel.CopyTo(destination[i..]);
        }
    }

    private static ImageFrame Copy(ImageFrame image) => new(image.Width, image.Height, image.Format, CopyPixels(image));

    private static byte[] CopyPixels(ImageFrame image)
    {
        var rowBytes = image.Width * image.BytesPerPixel;
        var output = GC.AllocateUninitializedArray<byte>(rowBytes * image.Height);
        if (image.RowStride == rowBytes)
        {
            image.Pixels.Span[..output.Length].CopyTo(output);
            return output;
        }

        for (var y = 0; y < image.Height; y++)
        {
            image.GetRow(y).CopyTo(output.AsSpan(y * rowBytes));
        }

        return output;
    }

    private static void PasteInto(byte[] canvas, ImageFrame canvasFrame, ImageFrame image, int x, int y)
    {
        if (image.Format != canvasFrame.Format)
        {
            throw new ArgumentException($"Cannot paste a {image.Format} image onto a {canvasFrame.Format} image.", nameof(image));
        }

        var bpp = image.BytesPerPixel;
        var x0 = Math.Max(0, x);
        var x1 = Math.Min(canvasFrame.Width, x + image.Width);
        var y0 = Math.Max(0, y);
        var y1 = Math.Min(canvasFrame.Height, y + image.Height);
        if (x1 <= x0 || y1 <= y0)
        {
            return;
        }

        for (var row = y0; row < y1; row++)
        {
            image.GetRow(row - y).Slice((x0 - x) * bpp, (x1 - x0) * bpp).CopyTo(canvas.AsSpan(((row * canvasFrame.Width) + x0) * bpp));
        }
    }

    /// <summary>RGBA → RGBa as Pillow's <c>rgbA2rgba</c>: each colour × alpha / 255 with its MULDIV255 rounding.</summary>
    private static ImageFrame Premultiply(ImageFrame image)
    {
        var output = new byte[image.Width * image.Height * 4];
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.GetRow(y);
            var dst = output.AsSpan(y * image.Width * 4);
            for (var i = 0; i < row.Length; i += 4)
            {
                int alpha = row[i + 3];
                dst[i] = MulDiv255(row[i], alpha);
                dst[i + 1] = MulDiv255(row[i + 1], alpha);
                dst[i + 2] = MulDiv255(row[i + 2], alpha);
                dst[i + 3] = (byte)alpha;
            }
        }

        return new ImageFrame(image.Width, image.Height, ImagePixelFormat.Rgba32, output);
    }

    private static byte MulDiv255(int a, int b)
    {
        var tmp = (a * b) + 128;
        return (byte)(((tmp >> 8) + tmp) >> 8);
    }

    /// <summary>RGBa → RGBA as Pillow's <c>rgba2rgbA</c>: colours × 255 / alpha (integer division, clipped), untouched at alpha 0 or 255.</summary>
    private static void Unpremultiply(byte[] pixels)
    {
        for (var i = 0; i < pixels.Length; i += 4)
        {
            int alpha = pixels[i + 3];
            if (alpha is 0 or 255)
            {
                continue;
            }

            pixels[i] = (byte)Math.Min(255, 255 * pixels[i] / alpha);
            pixels[i + 1] = (byte)Math.Min(255, 255 * pixels[i + 1] / alpha);
            pixels[i + 2] = (byte)Math.Min(255, 255 * pixels[i + 2] / alpha);
        }
    }
}
