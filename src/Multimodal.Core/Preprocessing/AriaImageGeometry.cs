// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>
/// The geometry of Aria's original image processor (rhymes-ai/Aria <c>aria/model/vision_processor.py</c> at 9b25fec,
/// <c>AriaVisionProcessor</c>): optional split into <see cref="MaxImageSize"/> tiles with the whole image first, then a
/// keep-ratio resize of every crop so its long side is <see cref="MaxImageSize"/>, padded right and bottom to a square.
/// </summary>
/// <remarks>
/// <para>This follows the original custom code that the rhymes-ai reference runs, not the transformers port (which
/// reads split resolutions as (height, width), picks them with LLaVA-NeXT's rule, pads centred and prepends no global
/// crop). See FAMILIES.md §A.1–A.2.</para>
/// <para>Every crop yields 256 tokens at 980 and 128 at 490 (<c>processing_aria.py</c>).</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class AriaImageGeometry
{
    private readonly GridShape[] _splitRatios;

    /// <summary>Initializes the geometry.</summary>
    /// <param name="maxImageSize">The processor's <c>max_image_size</c>: 980 (default) or 490.</param>
    /// <param name="minImageSize">The processor's <c>min_image_size</c>: the floor of the short side after resizing.</param>
    /// <param name="splitRatios">The <c>split_ratio</c> candidates as (columns, rows) in order; defaults to <see cref="DefaultSplitRatios"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is neither 490 nor 980, or <paramref name="minImageSize"/> is not in [1, <paramref name="maxImageSize"/>].</exception>
    /// <exception cref="ArgumentException"><paramref name="splitRatios"/> is empty or has a non-positive entry.</exception>
    public AriaImageGeometry(int maxImageSize = 980, int minImageSize = 336, IEnumerable<GridShape>? splitRatios = null)
    {
        if (maxImageSize is not (490 or 980))
        {
            throw new ArgumentOutOfRangeException(nameof(maxImageSize), maxImageSize, "max_image_size must be either 490 or 980.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minImageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minImageSize, maxImageSize);
        _splitRatios = splitRatios is null ? [.. DefaultSplitRatios] : [.. splitRatios];
        if (_splitRatios.Length == 0 || _splitRatios.Any(r => r.Columns <= 0 || r.Rows <= 0))
        {
            throw new ArgumentException("The split ratios must be a non-empty list of positive grids.", nameof(splitRatios));
        }

        MaxImageSize = maxImageSize;
        MinImageSize = minImageSize;
    }

    /// <summary>
    /// Gets the processor's default <c>split_ratio</c> as (columns, rows), in order: (1,2) … (1,8), (2,4), (2,3), (2,2),
    /// (2,1), (3,1), (3,2), (4,1), (4,2), (5,1) … (8,1). There is no (1,1), so a split always has a global crop first.
    /// </summary>
    public static IReadOnlyList<GridShape> DefaultSplitRatios { get; } =
    [
        new(1, 2), new(1, 3), new(1, 4), new(1, 5), new(1, 6), new(1, 7), new(1, 8), new(2, 4), new(2, 3), new(2, 2),
        new(2, 1), new(3, 1), new(3, 2), new(4, 1), new(4, 2), new(5, 1), new(6, 1), new(7, 1), new(8, 1),
    ];

    /// <summary>Gets the 980 geometry (256 tokens per crop), the processor default.</summary>
    public static AriaImageGeometry Aria980 { get; } = new(980);

    /// <summary>Gets the 490 geometry (128 tokens per crop), used for video frames.</summary>
    public static AriaImageGeometry Aria490 { get; } = new(490);

    /// <summary>Gets the crop side (and the tile side when splitting).</summary>
    public int MaxImageSize { get; }

    /// <summary>Gets the floor of the short side after the keep-ratio resize.</summary>
    public int MinImageSize { get; }

    /// <summary>Gets the split candidates (columns, rows).</summary>
    public IReadOnlyList<GridShape> SplitRatios => _splitRatios;

    /// <summary>Gets the number of tokens per crop (<c>processing_aria.py</c>: 128 for 490, 256 for 980).</summary>
    public int TokensPerCrop => TokensPerCropFor(MaxImageSize);

    /// <summary>Returns the tokens per crop for a <c>max_image_size</c>, as <c>processing_aria.py</c> does.</summary>
    /// <param name="maxImageSize">490 or 980.</param>
    /// <returns>128 or 256.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is neither 490 nor 980.</exception>
    public static int TokensPerCropFor(int maxImageSize) => maxImageSize switch
    {
        490 => 128,
        980 => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(maxImageSize), maxImageSize, "max_image_size must be either 490 or 980."),
    };

    /// <summary>Computes the crops the processor makes from one image (<c>_split_image</c> then <c>keep_ratio_resize_and_pixel_mask</c>).</summary>
    /// <param name="original">The image size.</param>
    /// <param name="splitImage">The processor's <c>split_image</c> (default off everywhere in the reference).</param>
    /// <returns>The crops in order (global first when split), with each crop's resize and padding.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="original"/> is not positive.</exception>
    public AriaLayout Compute(PixelSize original, bool splitImage = false)
    {
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        var global = new AriaCrop(ImageViewKind.Global, 0, 0, null, KeepRatioResize(original, MaxImageSize, MinImageSize));
        if (!splitImage)
        {
            return new AriaLayout(original, MaxImageSize, null, null, [global], TokensPerCrop);
        }

        var ratio = SelectBestResolution(original.Width, original.Height, _splitRatios, MaxImageSize);
        var resizeWidth = MaxImageSize * ratio.Columns;
        var resizeHeight = MaxImageSize * ratio.Rows;
        var blocks = ratio.Columns * ratio.Rows;
        var columns = resizeWidth / MaxImageSize;
        var crops = new List<AriaCrop>(blocks + 1);
        for (var i = 0; i < blocks; i++)
        {
            var box = new PixelBox(
                i % columns * MaxImageSize,
                i / columns * MaxImageSize,
                ((i % columns) + 1) * MaxImageSize,
                ((i / columns) + 1) * MaxImageSize);
            crops.Add(new AriaCrop(ImageViewKind.Tile, i / columns, i % columns, box, KeepRatioResize(box.Size, MaxImageSize, MinImageSize)));
        }

        // _split_image: "if len(processed_images) != 1: processed_images.insert(0, image)".
        if (crops.Count != 1)
        {
            crops.Insert(0, global);
        }

        return new AriaLayout(original, MaxImageSize, ratio, new PixelSize(resizeWidth, resizeHeight), crops, TokensPerCrop);
    }

    /// <summary>
    /// Ports <c>_select_best_resolution(img_width, img_height, target_ratios, patch_size)</c>: the ratio (c, r) whose c/r
    /// is closest to W/H (strictly closer replaces); on an exact tie a later ratio replaces the current one only when
    /// W·H &gt; 0.5·patch²·c·r, with W·H computed in wrapping 32-bit arithmetic as the reference's <c>np.int32</c> does.
    /// </summary>
    /// <param name="imageWidth">The image width.</param>
    /// <param name="imageHeight">The image height.</param>
    /// <param name="targetRatios">The candidates (columns, rows) in order.</param>
    /// <param name="patchSize">The tile side (<c>max_image_size</c>).</param>
    /// <returns>The chosen (columns, rows); (1, 1) if no candidate is closer than +∞ (never, for finite ratios).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="targetRatios"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static GridShape SelectBestResolution(int imageWidth, int imageHeight, IReadOnlyList<GridShape> targetRatios, int patchSize)
    {
        ArgumentNullException.ThrowIfNull(targetRatios);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        var aspectRatio = (double)imageWidth / imageHeight;
        var bestRatioDiff = double.PositiveInfinity;
        var best = new GridShape(1, 1);

        // np.int32(w) * np.int32(h) wraps on overflow (numpy only warns).
        var area = unchecked(imageWidth * imageHeight);
        foreach (var ratio in targetRatios)
        {
            var targetAspectRatio = (double)ratio.Columns / ratio.Rows;
            var ratioDiff = Math.Abs(aspectRatio - targetAspectRatio);
            if (ratioDiff < bestRatioDiff)
            {
                bestRatioDiff = ratioDiff;
                best = ratio;
            }
            else if (ratioDiff == bestRatioDiff && area > 0.5 * patchSize * patchSize * ratio.Columns * ratio.Rows)
            {
                best = ratio;
            }
        }

        return best;
    }

    /// <summary>
    /// Ports <c>keep_ratio_resize_and_pixel_mask(img, max_size, min_size)</c>: s = max_size / max(W, H); the new size is
    /// (max_size, max(int(H·s), min_size)) when W ≥ H, else (max(int(W·s), min_size), max_size); the result is padded
    /// right and bottom with zeros to max_size², and the pixel mask is true on the resized region.
    /// </summary>
    /// <param name="image">The crop size.</param>
    /// <param name="maxSize">The canvas side.</param>
    /// <param name="minSize">The floor of the short side.</param>
    /// <returns>The resize and padding.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="minSize"/> exceeds <paramref name="maxSize"/>.</exception>
    public static AriaResizeGeometry KeepRatioResize(PixelSize image, int maxSize, int minSize = 336)
    {
        PixelSize.ThrowIfNotPositive(image, nameof(image));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minSize, maxSize);
        var scale = (double)maxSize / Math.Max(image.Width, image.Height);
        var (w, h) = (image.Width, image.Height);
        var newSize = w >= h
            ? new PixelSize(maxSize, Math.Max((int)(h * scale), minSize))
            : new PixelSize(Math.Max((int)(w * scale), minSize), maxSize);
        return new AriaResizeGeometry(image, newSize, maxSize - newSize.Width, maxSize - newSize.Height, maxSize);
    }
}

/// <summary>The geometry of <c>keep_ratio_resize_and_pixel_mask</c> for one crop.</summary>
/// <param name="Input">The crop size before resizing.</param>
/// <param name="ResizeSize">The size the crop is resized to (PIL bicubic); also the extent of the true region of the pixel mask.</param>
/// <param name="PaddingRight">The zero columns added on the right.</param>
/// <param name="PaddingBottom">The zero rows added at the bottom.</param>
/// <param name="CanvasSize">The side of the square output (<c>max_image_size</c>).</param>
public sealed record AriaResizeGeometry(PixelSize Input, PixelSize ResizeSize, int PaddingRight, int PaddingBottom, int CanvasSize);

/// <summary>One crop of an Aria image.</summary>
/// <param name="Kind">Whether this is the whole image or a tile.</param>
/// <param name="Row">The tile row (0 for the global crop).</param>
/// <param name="Column">The tile column (0 for the global crop).</param>
/// <param name="SourceBox">For a tile, its box in the image resized to <see cref="AriaLayout.SplitResizeSize"/>; <see langword="null"/> for the global crop (the original image).</param>
/// <param name="Resize">The keep-ratio resize and padding applied to the crop.</param>
public sealed record AriaCrop(ImageViewKind Kind, int Row, int Column, PixelBox? SourceBox, AriaResizeGeometry Resize);

/// <summary>The crops <see cref="AriaImageGeometry"/> makes from one image.</summary>
/// <param name="Original">The image size.</param>
/// <param name="MaxImageSize">The crop side.</param>
/// <param name="SplitRatio">The chosen split (columns, rows), or <see langword="null"/> when not split.</param>
/// <param name="SplitResizeSize">The size the original is resized to before cutting tiles (PIL default filter, bicubic), or <see langword="null"/>.</param>
/// <param name="Crops">The crops in order: global first when split with more than one tile, then tiles row-major.</param>
/// <param name="TokensPerCrop">The tokens each crop yields.</param>
public sealed record AriaLayout(
    PixelSize Original,
    int MaxImageSize,
    GridShape? SplitRatio,
    PixelSize? SplitResizeSize,
    IReadOnlyList<AriaCrop> Crops,
    int TokensPerCrop)
{
    /// <summary>Gets <c>num_crops</c>: the number of crops (the image's <c>&lt;|img|&gt;</c> is repeated this many times).</summary>
    public int NumCrops => Crops.Count;

    /// <summary>Gets the number of visual tokens of the image (<see cref="NumCrops"/> × <see cref="TokensPerCrop"/>).</summary>
    public int TokenCount => NumCrops * TokensPerCrop;
}
