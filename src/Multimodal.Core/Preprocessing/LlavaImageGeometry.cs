// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>
/// The geometry of LLaVA's <c>process_images</c> (haotian-liu/LLaVA <c>llava/mm_utils.py</c>) for the single-view
/// checkpoints: optional <c>expand2square</c> (<c>image_aspect_ratio == "pad"</c>), then the CLIP processor.
/// </summary>
/// <remarks>
/// <para>LLaVA-1.5 pads to a square filled with the processor mean and runs CLIP-336 (576 tokens); the
/// LLaVA-Lightning-MPT preview has no <c>image_aspect_ratio</c> and runs CLIP-224 directly (shortest edge + centre
/// crop, 256 tokens). See FAMILIES.md §B.1.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class LlavaImageGeometry
{
    /// <summary>Initializes the geometry.</summary>
    /// <param name="processor">The CLIP processor geometry.</param>
    /// <param name="padToSquare">Whether <c>expand2square</c> runs first (<c>image_aspect_ratio == "pad"</c>).</param>
    /// <param name="imageMean">The processor's <c>image_mean</c>, from which the padding colour is derived; defaults to <see cref="ClipImageGeometry.OpenAiClipMean"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="processor"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="imageMean"/> does not have three values in [0, 1].</exception>
    public LlavaImageGeometry(ClipImageGeometry processor, bool padToSquare, IReadOnlyList<double>? imageMean = null)
    {
        ArgumentNullException.ThrowIfNull(processor);
        Processor = processor;
        PadToSquare = padToSquare;
        FillColor = GetFillColor(imageMean ?? ClipImageGeometry.OpenAiClipMean);
    }

    /// <summary>Gets LLaVA-1.5: pad to square with (122, 116, 104), then CLIP-336.</summary>
    public static LlavaImageGeometry Llava15 { get; } = new(ClipImageGeometry.Llava15, padToSquare: true);

    /// <summary>Gets the LLaVA-Lightning-MPT-7B preview: CLIP-224 on the raw image.</summary>
    public static LlavaImageGeometry LlavaMptPreview { get; } = new(ClipImageGeometry.LlavaMptPreview, padToSquare: false);

    /// <summary>Gets the CLIP processor geometry.</summary>
    public ClipImageGeometry Processor { get; }

    /// <summary>Gets a value indicating whether the image is first expanded to a square.</summary>
    public bool PadToSquare { get; }

    /// <summary>Gets the <c>expand2square</c> background colour, RGB.</summary>
    public (byte R, byte G, byte B) FillColor { get; }

    /// <summary>Gets the number of visual tokens of one image (the CLIP view's patch count).</summary>
    public int TokenCount => Processor.TokensPerView;

    /// <summary>Computes the geometry applied to an image of the given size.</summary>
    /// <param name="input">The image size.</param>
    /// <returns>The optional square padding, then the CLIP resize and crop of the (padded) image.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="input"/> is not positive.</exception>
    /// <exception cref="OverflowException">Without padding, the resized long side would not fit in an <see cref="int"/>.</exception>
    public LlavaViewGeometry Compute(PixelSize input)
    {
        PixelSize.ThrowIfNotPositive(input, nameof(input));
        var square = PadToSquare ? ExpandToSquare(input) : null;
        var clip = Processor.Compute(square?.OutputSize ?? input);
        return new LlavaViewGeometry(input, square, clip, TokenCount);
    }

    /// <summary>
    /// Computes <c>expand2square(pil_img, background_color)</c>: a square canvas of side max(W, H) with the image pasted at
    /// (0, (W − H)//2) when W &gt; H, or ((H − W)//2, 0) when H &gt; W; a square image is returned unchanged.
    /// </summary>
    /// <param name="input">The image size.</param>
    /// <returns>The square canvas geometry.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="input"/> is not positive.</exception>
    public static SquarePadGeometry ExpandToSquare(PixelSize input)
    {
        PixelSize.ThrowIfNotPositive(input, nameof(input));
        var (width, height) = (input.Width, input.Height);
        if (width == height)
        {
            return new SquarePadGeometry(input, width, new PixelOffset(0, 0));
        }

        return width > height
            ? new SquarePadGeometry(input, width, new PixelOffset(0, (width - height) / 2))
            : new SquarePadGeometry(input, height, new PixelOffset((height - width) / 2, 0));
    }

    /// <summary>
    /// Computes the padding colour exactly as <c>process_images</c> does: <c>tuple(int(x*255) for x in image_mean)</c>
    /// (truncation of the double product; the OpenAI CLIP mean gives (122, 116, 104)).
    /// </summary>
    /// <param name="imageMean">The three channel means in [0, 1].</param>
    /// <returns>The RGB colour.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="imageMean"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="imageMean"/> does not have three values in [0, 1].</exception>
    public static (byte R, byte G, byte B) GetFillColor(IReadOnlyList<double> imageMean)
    {
        ArgumentNullException.ThrowIfNull(imageMean);
        if (imageMean.Count != 3 || imageMean.Any(m => !(m >= 0 && m <= 1)))
        {
            throw new ArgumentException("The image mean must have three values in [0, 1].", nameof(imageMean));
        }

        return (ToByte(imageMean[0]), ToByte(imageMean[1]), ToByte(imageMean[2]));

        static byte ToByte(double mean) => (byte)(int)(mean * 255);
    }
}

/// <summary>The geometry of <c>expand2square</c>.</summary>
/// <param name="Input">The image size.</param>
/// <param name="Side">The side of the square canvas, max(W, H).</param>
/// <param name="PasteOffset">Where the image is pasted on the canvas.</param>
public sealed record SquarePadGeometry(PixelSize Input, int Side, PixelOffset PasteOffset)
{
    /// <summary>Gets the canvas size (<see cref="Side"/> × <see cref="Side"/>).</summary>
    public PixelSize OutputSize => new(Side, Side);

    /// <summary>Gets a value indicating whether the image was already square (the reference returns it unchanged).</summary>
    public bool IsIdentity => Input.Width == Input.Height;
}

/// <summary>The geometry <see cref="LlavaImageGeometry"/> applies to one image.</summary>
/// <param name="Input">The image size.</param>
/// <param name="Square">The square padding, or <see langword="null"/> when the family does not pad.</param>
/// <param name="Clip">The CLIP resize and crop of the (padded) image.</param>
/// <param name="TokenCount">The number of visual tokens the view yields.</param>
public sealed record LlavaViewGeometry(PixelSize Input, SquarePadGeometry? Square, ClipViewGeometry Clip, int TokenCount);
