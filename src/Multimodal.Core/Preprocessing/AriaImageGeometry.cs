// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.ObjectModel;
using System.Globalization;

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
/// <para>The tokens of a crop come from the model's projector: <c>projector_patch_to_query_dict</c> maps the patches
/// of a crop, (<c>max_image_size</c> / <c>patch_size</c>)², to the number of projector queries. The reference
/// checkpoints have {1225: 128, 4900: 256} with 14-pixel patches, so every crop yields 256 tokens at 980 and 128 at 490
/// (<see cref="DefaultTokensPerCrop"/>, the only sizes <c>processing_aria.py</c> accepts). A checkpoint with another
/// projector map supports other sizes: pass its sizes and tokens per crop to
/// <see cref="AriaImageGeometry(IReadOnlyDictionary{int, int}, int, int, IEnumerable{GridShape})"/>.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class AriaImageGeometry
{
    private static readonly ReadOnlyDictionary<int, int> ReferenceTokensPerCrop = new(new Dictionary<int, int> { [490] = 128, [980] = 256 });
    private readonly GridShape[] _splitRatios;
    private readonly ReadOnlyDictionary<int, int> _tokensPerCrop;
    private readonly int[] _supportedSizes;

    /// <summary>Initializes the geometry with the reference's sizes (<see cref="DefaultTokensPerCrop"/>: 490 and 980).</summary>
    /// <param name="maxImageSize">The processor's <c>max_image_size</c>: 980 (default) or 490.</param>
    /// <param name="minImageSize">The processor's <c>min_image_size</c>: the floor of the short side after resizing.</param>
    /// <param name="splitRatios">The <c>split_ratio</c> candidates as (columns, rows) in order; defaults to <see cref="DefaultSplitRatios"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is neither 490 nor 980, or <paramref name="minImageSize"/> is not in [1, <paramref name="maxImageSize"/>].</exception>
    /// <exception cref="ArgumentException"><paramref name="splitRatios"/> is empty or has a non-positive entry.</exception>
    public AriaImageGeometry(int maxImageSize = 980, int minImageSize = 336, IEnumerable<GridShape>? splitRatios = null)
        : this(DefaultTokensPerCrop, maxImageSize, minImageSize, splitRatios)
    {
    }

    /// <summary>Initializes the geometry for a model whose projector supports the given crop sizes.</summary>
    /// <param name="tokensPerCropBySize">The supported <c>max_image_size</c> values and the tokens one crop of each
    /// yields: for each perfect-square patch count p of <c>projector_patch_to_query_dict</c>, √p · <c>patch_size</c> →
    /// the query count (the reference's map gives <see cref="DefaultTokensPerCrop"/>).</param>
    /// <param name="maxImageSize">The processor's <c>max_image_size</c>: a key of <paramref name="tokensPerCropBySize"/>.</param>
    /// <param name="minImageSize">The processor's <c>min_image_size</c>: the floor of the short side after resizing.</param>
    /// <param name="splitRatios">The <c>split_ratio</c> candidates as (columns, rows) in order; defaults to <see cref="DefaultSplitRatios"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokensPerCropBySize"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="tokensPerCropBySize"/> is empty or has a non-positive size or
    /// token count, or <paramref name="splitRatios"/> is empty or has a non-positive entry.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is not a key of
    /// <paramref name="tokensPerCropBySize"/> (the message lists the supported sizes), or <paramref name="minImageSize"/>
    /// is not in [1, <paramref name="maxImageSize"/>].</exception>
    public AriaImageGeometry(IReadOnlyDictionary<int, int> tokensPerCropBySize, int maxImageSize, int minImageSize = 336, IEnumerable<GridShape>? splitRatios = null)
    {
        _tokensPerCrop = CopyTokensPerCrop(tokensPerCropBySize);
        _supportedSizes = [.. _tokensPerCrop.Keys.Order()];
        if (!_tokensPerCrop.ContainsKey(maxImageSize))
        {
            throw new ArgumentOutOfRangeException(nameof(maxImageSize), maxImageSize, $"max_image_size must be one of the supported crop sizes: {FormatSizes(_supportedSizes)}.");
        }

        ThrowIfMinImageSizeOutOfRange(minImageSize, maxImageSize, "max_image_size");
        _splitRatios = splitRatios is null ? [.. DefaultSplitRatios] : [.. splitRatios];
        if (_splitRatios.Length == 0 || _splitRatios.Any(r => r.Columns <= 0 || r.Rows <= 0))
        {
            throw new ArgumentException("The split ratios must be a non-empty list of positive grids.", nameof(splitRatios));
        }

        MaxImageSize = maxImageSize;
        MinImageSize = minImageSize;
    }

    /// <summary>A geometry that shares an already validated map and ratio list.</summary>
    private AriaImageGeometry(ReadOnlyDictionary<int, int> tokensPerCrop, int[] supportedSizes, GridShape[] splitRatios, int maxImageSize, int minImageSize)
    {
        _tokensPerCrop = tokensPerCrop;
        _supportedSizes = supportedSizes;
        _splitRatios = splitRatios;
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

    /// <summary>
    /// Gets the reference's crop sizes and tokens per crop: 490 → 128 and 980 → 256 (<c>processing_aria.py</c>; the
    /// rhymes-ai <c>projector_patch_to_query_dict</c> {1225: 128, 4900: 256} with 14-pixel patches).
    /// </summary>
    public static IReadOnlyDictionary<int, int> DefaultTokensPerCrop => ReferenceTokensPerCrop;

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

    /// <summary>Gets the supported <c>max_image_size</c> values and the tokens one crop of each yields
    /// (<see cref="DefaultTokensPerCrop"/> unless the geometry was given another map).</summary>
    public IReadOnlyDictionary<int, int> TokensPerCropBySize => _tokensPerCrop;

    /// <summary>Gets the supported <c>max_image_size</c> values, in ascending order.</summary>
    public IReadOnlyList<int> SupportedImageSizes => _supportedSizes;

    /// <summary>Gets the number of tokens per crop of <see cref="MaxImageSize"/> (<c>processing_aria.py</c>: 128 for 490, 256 for 980).</summary>
    public int TokensPerCrop => _tokensPerCrop[MaxImageSize];

    /// <summary>Returns the tokens per crop for a <c>max_image_size</c> of the reference, as <c>processing_aria.py</c> does
    /// (<see cref="DefaultTokensPerCrop"/>); see <see cref="GetTokensPerCrop"/> for a geometry's own sizes.</summary>
    /// <param name="maxImageSize">490 or 980.</param>
    /// <returns>128 or 256.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is neither 490 nor 980.</exception>
    public static int TokensPerCropFor(int maxImageSize) => maxImageSize switch
    {
        490 => 128,
        980 => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(maxImageSize), maxImageSize, "max_image_size must be one of the supported crop sizes: 490 or 980."),
    };

    /// <summary>Returns the tokens per crop for one of this geometry's supported sizes (<see cref="TokensPerCropBySize"/>).</summary>
    /// <param name="maxImageSize">A supported <c>max_image_size</c>.</param>
    /// <returns>The tokens one crop of that size yields.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is not supported (the message lists the supported sizes).</exception>
    public int GetTokensPerCrop(int maxImageSize) =>
        _tokensPerCrop.TryGetValue(maxImageSize, out var tokens)
            ? tokens
            : throw new ArgumentOutOfRangeException(nameof(maxImageSize), maxImageSize, $"max_image_size must be one of the supported crop sizes: {FormatSizes(_supportedSizes)}.");

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

    /// <summary>The same map, ratios and <see cref="MinImageSize"/> at another supported <c>max_image_size</c>.</summary>
    /// <param name="maxImageSize">A supported size, at least <see cref="MinImageSize"/>.</param>
    /// <returns>The geometry (this one when the size is <see cref="MaxImageSize"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The size is not supported or is below <see cref="MinImageSize"/>.</exception>
    internal AriaImageGeometry WithMaxImageSize(int maxImageSize)
    {
        if (maxImageSize == MaxImageSize)
        {
            return this;
        }

        _ = GetTokensPerCrop(maxImageSize);
        ThrowIfMinImageSizeOutOfRange(MinImageSize, maxImageSize, "max_image_size");
        return new AriaImageGeometry(_tokensPerCrop, _supportedSizes, _splitRatios, maxImageSize, MinImageSize);
    }

    /// <summary>Writes sizes for a message: "490 or 980", "28, 56 or 112".</summary>
    /// <param name="sizes">The sizes, in ascending order.</param>
    /// <returns>The text.</returns>
    internal static string FormatSizes(IReadOnlyList<int> sizes) => sizes.Count switch
    {
        0 => "none",
        1 => sizes[0].ToString(CultureInfo.InvariantCulture),
        _ => string.Join(", ", sizes.Take(sizes.Count - 1).Select(s => s.ToString(CultureInfo.InvariantCulture)))
            + " or " + sizes[^1].ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Throws unless <paramref name="minImageSize"/> is in [1, <paramref name="limit"/>].</summary>
    /// <param name="minImageSize">The <c>min_image_size</c>.</param>
    /// <param name="limit">The largest allowed value.</param>
    /// <param name="limitName">What <paramref name="limit"/> is, for the message.</param>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    internal static void ThrowIfMinImageSizeOutOfRange(int minImageSize, int limit, string limitName)
    {
        if (minImageSize < 1 || minImageSize > limit)
        {
            throw new ArgumentOutOfRangeException(
                nameof(minImageSize),
                minImageSize,
                string.Create(CultureInfo.InvariantCulture, $"min_image_size must be in [1, {limit}] (at most the {limitName}, {limit}); it is {minImageSize}."));
        }
    }

    /// <summary>Validates and copies a size → tokens-per-crop map.</summary>
    private static ReadOnlyDictionary<int, int> CopyTokensPerCrop(IReadOnlyDictionary<int, int> tokensPerCropBySize)
    {
        ArgumentNullException.ThrowIfNull(tokensPerCropBySize);
        if (ReferenceEquals(tokensPerCropBySize, ReferenceTokensPerCrop))
        {
            return ReferenceTokensPerCrop;
        }

        if (tokensPerCropBySize.Count == 0)
        {
            throw new ArgumentException("The map of supported max_image_size values to tokens per crop is empty.", nameof(tokensPerCropBySize));
        }

        foreach (var (size, tokens) in tokensPerCropBySize)
        {
            if (size < 1 || tokens < 1)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"The map of supported max_image_size values to tokens per crop has the entry {size} → {tokens}; both must be positive."),
                    nameof(tokensPerCropBySize));
            }
        }

        return new ReadOnlyDictionary<int, int>(tokensPerCropBySize.ToDictionary(e => e.Key, e => e.Value));
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
