// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>The pixel steps the family preprocessors share, each with the reference's exact semantics.</summary>
internal static class FamilyPixels
{
    /// <summary>Gets HF's CLIP normalisation: <c>(v * (1/255)) in float64 → float32</c>, then OpenAI CLIP mean/std in float32.</summary>
    public static NormalizingImageProcessor ClipHuggingFace { get; } =
        new(NormalizingImageProcessor.ClipMean, NormalizingImageProcessor.ClipStd, RescaleMode.HuggingFace);

    /// <summary>Gets torchvision's <c>ToTensor</c> + <c>Normalize(0.5, 0.5)</c> (MiniCPM-V's and Aria's transform).</summary>
    public static NormalizingImageProcessor HalfTorchvision { get; } =
        new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], RescaleMode.Torchvision);

    /// <summary>Converts a list of double-precision means or deviations to the float32 values NumPy and torch use.</summary>
    public static float[] ToSingle(IReadOnlyList<double> values, string paramName)
    {
        if (values.Count != 3)
        {
            throw new ArgumentException("Three values (R, G, B) are needed.", paramName);
        }

        return [(float)values[0], (float)values[1], (float)values[2]];
    }

    /// <summary>
    /// Applies HF <c>CLIPImageProcessor</c>'s resize and centre crop to an RGB image: resize (PIL bicubic) so the shortest
    /// edge is <see cref="ClipImageGeometry.ShortestEdge"/>, then <c>center_crop</c> (zero padding when the crop is larger).
    /// </summary>
    /// <remarks>An image that is already crop-sized with <c>shortest_edge == crop</c> is returned as is: both steps are identities there (PIL returns a copy).</remarks>
    public static ImageFrame ClipResizeAndCrop(ImageFrame rgb, ClipImageGeometry geometry)
    {
        if (geometry.ShortestEdge == geometry.CropSize && rgb.Width == geometry.CropSize && rgb.Height == geometry.CropSize)
        {
            return rgb;
        }

        var g = geometry.Compute(new PixelSize(rgb.Width, rgb.Height));
        if (!g.Crop.NeedsPadding && (g.ResizeSize.Width != rgb.Width || g.ResizeSize.Height != rgb.Height))
        {
            // Only the centre crop of the resize is computed.
            return ImageOperations.ResizeAndCrop(rgb, g.ResizeSize.Width, g.ResizeSize.Height, ResampleFilter.Bicubic, g.Crop.CropBox);
        }

        var resized = g.ResizeSize.Width == rgb.Width && g.ResizeSize.Height == rgb.Height
            ? rgb
            : ImageOperations.Resize(rgb, g.ResizeSize.Width, g.ResizeSize.Height, ResampleFilter.Bicubic);
        return CenterCrop(resized, g.Crop);
    }

    /// <summary>Cuts HF's <c>center_crop</c> out of an image, building the zero-padded canvas only when the geometry needs it.</summary>
    public static ImageFrame CenterCrop(ImageFrame image, CenterCropGeometry crop)
    {
        if (!crop.NeedsPadding)
        {
            var box = crop.CropBox;
            return box.Left == 0 && box.Top == 0 && box.Width == image.Width && box.Height == image.Height
                ? image
                : ImageOperations.Crop(image, box.Left, box.Top, box.Right, box.Bottom);
        }

        var canvas = ImageOperations.Canvas(crop.OutputSize.Width, crop.OutputSize.Height, image.Format);
        var source = crop.SourceBox;
        if (source.Width <= 0 || source.Height <= 0)
        {
            return canvas;
        }

        var kept = ImageOperations.Crop(image, source.Left, source.Top, source.Right, source.Bottom);
        return ImageOperations.Paste(canvas, kept, crop.DestinationOffset.X, crop.DestinationOffset.Y);
    }

    /// <summary>Resizes with PIL bicubic, returning the input itself when the size is unchanged (PIL returns an identical copy).</summary>
    public static ImageFrame ResizeBicubic(ImageFrame image, PixelSize size) =>
        size.Width == image.Width && size.Height == image.Height
            ? image
            : ImageOperations.Resize(image, size.Width, size.Height, ResampleFilter.Bicubic);

    /// <summary>Cuts a box (PIL <c>Image.crop</c>: zero fill outside the image).</summary>
    public static ImageFrame Crop(ImageFrame image, PixelBox box) =>
        ImageOperations.Crop(image, box.Left, box.Top, box.Right, box.Bottom);

    /// <summary>Returns an array of <paramref name="count"/> copies of <paramref name="value"/> (one token count per view).</summary>
    public static int[] Repeat(int count, int value)
    {
        var counts = new int[count];
        Array.Fill(counts, value);
        return counts;
    }
}
