// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>
/// The geometry of Hugging Face's <c>CLIPImageProcessor</c> (the slow, PIL-based one): resize so the shortest edge is
/// <see cref="ShortestEdge"/>, then centre-crop <see cref="CropSize"/> × <see cref="CropSize"/>.
/// </summary>
/// <remarks>
/// <para>Used by LLaVA-1.5 (336, after <see cref="LlavaImageGeometry.ExpandToSquare"/>), the LLaVA-Lightning-MPT preview
/// (224), AuroraCap (378) and LongVA's video frames (336). See FAMILIES.md §0.2.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class ClipImageGeometry
{
    /// <summary>Initializes the geometry of one CLIP processor configuration.</summary>
    /// <param name="shortestEdge">The processor's <c>size["shortest_edge"]</c>.</param>
    /// <param name="cropSize">The processor's <c>crop_size</c> (square).</param>
    /// <param name="patchSize">The vision tower's patch size, used for <see cref="TokensPerView"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is zero or negative.</exception>
    public ClipImageGeometry(int shortestEdge, int cropSize, int patchSize = 14)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shortestEdge);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cropSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ShortestEdge = shortestEdge;
        CropSize = cropSize;
        PatchSize = patchSize;
    }

    /// <summary>Gets openai/clip-vit-large-patch14-336 (LLaVA-1.5): shortest edge 336, crop 336 → 576 tokens.</summary>
    public static ClipImageGeometry Llava15 { get; } = new(336, 336);

    /// <summary>Gets openai/clip-vit-large-patch14 (LLaVA-Lightning-MPT-7B-preview): shortest edge 224, crop 224 → 256 tokens.</summary>
    public static ClipImageGeometry LlavaMptPreview { get; } = new(224, 224);

    /// <summary>Gets AuroraCap's processor (<c>size=378, crop_size=378</c>): 27 × 27 = 729 patches before token merging.</summary>
    public static ClipImageGeometry AuroraCap { get; } = new(378, 378);

    /// <summary>Gets LongVA's per-frame processor for video (shortest edge 336, crop 336; no anyres for frames).</summary>
    public static ClipImageGeometry LongVaFrame { get; } = new(336, 336);

    /// <summary>Gets the OpenAI CLIP mean (<c>image_mean</c> of the CLIP processors), RGB.</summary>
    public static IReadOnlyList<double> OpenAiClipMean { get; } = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>Gets the OpenAI CLIP standard deviation (<c>image_std</c> of the CLIP processors), RGB.</summary>
    public static IReadOnlyList<double> OpenAiClipStd { get; } = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>Gets the target length of the shortest edge.</summary>
    public int ShortestEdge { get; }

    /// <summary>Gets the side of the square centre crop.</summary>
    public int CropSize { get; }

    /// <summary>Gets the vision tower's patch size.</summary>
    public int PatchSize { get; }

    /// <summary>Gets the number of patch tokens one processed view yields, without the CLS token: (crop / patch)².</summary>
    public int TokensPerView => (CropSize / PatchSize) * (CropSize / PatchSize);

    /// <summary>Computes the resize and crop applied to an image of the given size.</summary>
    /// <param name="input">The image size.</param>
    /// <returns>The resize target and the centre-crop geometry.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="input"/> is not positive.</exception>
    /// <exception cref="OverflowException">The resized long side would not fit in an <see cref="int"/>.</exception>
    public ClipViewGeometry Compute(PixelSize input)
    {
        PixelSize.ThrowIfNotPositive(input, nameof(input));
        var resized = GetResizeOutputImageSize(input, ShortestEdge);
        return new ClipViewGeometry(input, resized, CenterCrop(resized, CropSize, CropSize));
    }

    /// <summary>
    /// Computes the shortest-edge resize target exactly as HF <c>get_resize_output_image_size(image, size,
    /// default_to_square=False)</c>: the short side becomes <paramref name="shortestEdge"/> and the long side
    /// <c>int(shortestEdge * long / short)</c> (truncation).
    /// </summary>
    /// <param name="input">The image size.</param>
    /// <param name="shortestEdge">The requested length of the shortest edge.</param>
    /// <returns>The output size (width, height).</returns>
    /// <remarks>Ties (a square image) count as "width is the short side", as in the reference (<c>width &lt;= height</c>).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A side or <paramref name="shortestEdge"/> is not positive.</exception>
    /// <exception cref="OverflowException">The long side would not fit in an <see cref="int"/> (an aspect ratio beyond about 6 million : 1 at 336).</exception>
    public static PixelSize GetResizeOutputImageSize(PixelSize input, int shortestEdge)
    {
        PixelSize.ThrowIfNotPositive(input, nameof(input));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shortestEdge);
        var (width, height) = (input.Width, input.Height);
        var (shortSide, longSide) = width <= height ? (width, height) : (height, width);

        // Python: int(requested_new_short * long / short); the product is an exact integer, then one true division.
        var newLong = checked((int)((double)((long)shortestEdge * longSide) / shortSide));
        return width <= height ? new PixelSize(shortestEdge, newLong) : new PixelSize(newLong, shortestEdge);
    }

    /// <summary>
    /// Computes HF <c>image_transforms.center_crop</c>: top = (H − crop)//2, left = (W − crop)//2; when the crop does not
    /// fit, the image is first zero-padded (centred, <c>ceil</c> of half the missing size before it) and the crop is
    /// taken from the padded canvas.
    /// </summary>
    /// <param name="input">The size of the image being cropped.</param>
    /// <param name="cropWidth">The crop width.</param>
    /// <param name="cropHeight">The crop height.</param>
    /// <returns>The crop geometry, including where the surviving pixels land when padding was needed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static CenterCropGeometry CenterCrop(PixelSize input, int cropWidth, int cropHeight)
    {
        PixelSize.ThrowIfNotPositive(input, nameof(input));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cropWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cropHeight);
        var (origWidth, origHeight) = (input.Width, input.Height);

        // Python's // floors; the differences may be negative here.
        var top = FloorDiv(origHeight - cropHeight, 2);
        var bottom = top + cropHeight;
        var left = FloorDiv(origWidth - cropWidth, 2);
        var right = left + cropWidth;

        if (top >= 0 && bottom <= origHeight && left >= 0 && right <= origWidth)
        {
            var box = new PixelBox(left, top, right, bottom);
            return new CenterCropGeometry(input, top, left, 0, 0, input, box, box, new PixelOffset(0, 0), box.Size);
        }

        var newHeight = Math.Max(cropHeight, origHeight);
        var newWidth = Math.Max(cropWidth, origWidth);
        var topPad = CeilHalf(newHeight - origHeight);
        var leftPad = CeilHalf(newWidth - origWidth);

        var y0 = Math.Max(0, top + topPad);
        var y1 = Math.Min(newHeight, bottom + topPad);
        var x0 = Math.Max(0, left + leftPad);
        var x1 = Math.Min(newWidth, right + leftPad);

        var (srcY0, srcY1, dstY) = Overlap(topPad, origHeight, y0, y1);
        var (srcX0, srcX1, dstX) = Overlap(leftPad, origWidth, x0, x1);
        return new CenterCropGeometry(
            input,
            top,
            left,
            topPad,
            leftPad,
            new PixelSize(newWidth, newHeight),
            new PixelBox(x0, y0, x1, y1),
            new PixelBox(srcX0, srcY0, srcX1, srcY1),
            new PixelOffset(dstX, dstY),
            new PixelSize(x1 - x0, y1 - y0));
    }

    /// <summary>Python's floor division for a positive divisor.</summary>
    internal static int FloorDiv(int value, int divisor)
    {
        var quotient = value / divisor;
        return value % divisor != 0 && value < 0 ? quotient - 1 : quotient;
    }

    /// <summary>Python's <c>math.ceil(n / 2)</c> for n ≥ 0.</summary>
    private static int CeilHalf(int value) => (value + 1) / 2;

    /// <summary>On one axis: the image occupies [pad, pad + length) of the canvas and [s0, s1) is kept; returns the kept source range and its offset in the output.</summary>
    private static (int Start, int End, int Offset) Overlap(int pad, int length, int s0, int s1)
    {
        var start = Math.Max(s0, pad);
        var end = Math.Min(s1, pad + length);
        return end <= start ? (0, 0, 0) : (start - pad, end - pad, start - s0);
    }
}

/// <summary>The geometry <see cref="ClipImageGeometry"/> applies to one image: a resize, then a centre crop.</summary>
/// <param name="Input">The input size.</param>
/// <param name="ResizeSize">The size the image is resized to (PIL bicubic).</param>
/// <param name="Crop">The centre crop taken from the resized image.</param>
public sealed record ClipViewGeometry(PixelSize Input, PixelSize ResizeSize, CenterCropGeometry Crop)
{
    /// <summary>Gets the size of the processed view (the crop size).</summary>
    public PixelSize OutputSize => Crop.OutputSize;
}

/// <summary>The result of HF <c>center_crop</c> on an image of size <see cref="Input"/>.</summary>
/// <remarks>
/// Without padding (<see cref="NeedsPadding"/> false), the output is simply <c>image.crop(CropBox)</c>. With padding, the
/// output is a zero canvas of <see cref="OutputSize"/> with <see cref="SourceBox"/> of the input pasted at
/// <see cref="DestinationOffset"/>; <see cref="CropBox"/> is then the box on the padded canvas of <see cref="PaddedSize"/>.
/// </remarks>
/// <param name="Input">The size of the image being cropped.</param>
/// <param name="Top">HF's <c>top</c> before padding, (H − crop)//2 (negative when the image is shorter than the crop).</param>
/// <param name="Left">HF's <c>left</c> before padding, (W − crop)//2.</param>
/// <param name="PadTop">The zero rows added above the image (<c>top_pad</c>), 0 without padding.</param>
/// <param name="PadLeft">The zero columns added left of the image (<c>left_pad</c>), 0 without padding.</param>
/// <param name="PaddedSize">The padded canvas size (max(crop, input) per side); the input size without padding.</param>
/// <param name="CropBox">The crop box on the padded canvas (on the input when there is no padding).</param>
/// <param name="SourceBox">The part of the input that survives the crop.</param>
/// <param name="DestinationOffset">Where <see cref="SourceBox"/> lands in the output.</param>
/// <param name="OutputSize">The output size.</param>
public sealed record CenterCropGeometry(
    PixelSize Input,
    int Top,
    int Left,
    int PadTop,
    int PadLeft,
    PixelSize PaddedSize,
    PixelBox CropBox,
    PixelBox SourceBox,
    PixelOffset DestinationOffset,
    PixelSize OutputSize)
{
    /// <summary>Gets a value indicating whether HF had to zero-pad because the image is smaller than the crop.</summary>
    public bool NeedsPadding => PaddedSize != Input;
}
