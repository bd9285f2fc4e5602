// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>
/// Aria's image pipeline (rhymes-ai/Aria <c>aria/model/vision_processor.py</c>, <c>AriaVisionProcessor</c>): optionally
/// split the image into <c>max_image_size</c> tiles with the whole image first (<c>_split_image</c>); then every crop is
/// converted to RGB, resized with PIL bicubic so its long side is <c>max_image_size</c> (short side at least
/// <c>min_image_size</c>), padded right and bottom with zeros to a square (<c>keep_ratio_resize_and_pixel_mask</c>), and
/// normalised with torchvision's <c>ToTensor</c> and mean = std = 0.5 (so padding becomes −1).
/// </summary>
/// <remarks>
/// <para>Options: <see cref="ImageSplitOptionKeys.MaxImageSize"/> (one of <see cref="SupportedImageSizes"/>: 490 or 980
/// for the reference) and
/// <see cref="ImageSplitOptionKeys.SplitImage"/> (off by default, as everywhere in the reference). As in the reference,
/// the split resizes the original image before the RGB conversion, so an RGBA image is resampled with premultiplied
/// alpha there. This follows the original rhymes-ai code, not the transformers port. See FAMILIES.md §A.1–A.2.</para>
/// <para>The pixel mask (<c>pixel_mask</c>: true on the resized area, false on the padding) of a view comes from
/// <see cref="GetPixelMask"/>. The preprocessor remembers, weakly, the resize of every view its <see cref="Split"/>
/// produced; a view it did not produce (for example a raw video frame) is treated as the reference treats any image
/// given to the processor: resized and padded to <see cref="MaxImageSize"/> by <see cref="Process"/>, with the matching
/// mask.</para>
/// <para>Every crop yields 256 tokens at 980 and 128 at 490 with the reference's projector
/// (<see cref="AriaImageGeometry.DefaultTokensPerCrop"/>). A model whose <c>projector_patch_to_query_dict</c> differs
/// supports other sizes: construct the preprocessor with its map of sizes to tokens per crop
/// (<see cref="AriaImagePreprocessor(IReadOnlyDictionary{int, int}, int, int, IEnumerable{GridShape}, bool)"/>).</para>
/// <para>Thread-safety: instances are thread-safe (the view table is a <see cref="ConditionalWeakTable{TKey, TValue}"/>)
/// and may be shared.</para>
/// </remarks>
public sealed class AriaImagePreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    private readonly AriaImageGeometry _geometry;
    private readonly Dictionary<int, AriaImageGeometry> _geometries;
    private readonly ConditionalWeakTable<ImageFrame, AriaResizeGeometry> _produced = new();

    /// <summary>Initializes the preprocessor with the reference's sizes (<see cref="AriaImageGeometry.DefaultTokensPerCrop"/>: 490 → 128 and 980 → 256 tokens per crop).</summary>
    /// <param name="maxImageSize">The processor's <c>max_image_size</c>, the default of the option: 980 or 490.</param>
    /// <param name="minImageSize">The processor's <c>min_image_size</c>: the floor of the short side after resizing.</param>
    /// <param name="splitRatios">The <c>split_ratio</c> candidates (columns, rows); defaults to <see cref="AriaImageGeometry.DefaultSplitRatios"/>.</param>
    /// <param name="splitImage">The default of the <c>split_image</c> option.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is neither 490 nor 980, or <paramref name="minImageSize"/> is not in [1, 490].</exception>
    /// <exception cref="ArgumentException"><paramref name="splitRatios"/> is empty or has a non-positive entry.</exception>
    public AriaImagePreprocessor(int maxImageSize = 980, int minImageSize = 336, IEnumerable<GridShape>? splitRatios = null, bool splitImage = false)
        : this(AriaImageGeometry.DefaultTokensPerCrop, maxImageSize, minImageSize, splitRatios, splitImage)
    {
    }

    /// <summary>Initializes the preprocessor for a model whose projector supports the given crop sizes.</summary>
    /// <param name="tokensPerCropBySize">The supported <c>max_image_size</c> values and the tokens one crop of each
    /// yields (from the model's <c>projector_patch_to_query_dict</c>: √patches · <c>patch_size</c> → queries).</param>
    /// <param name="maxImageSize">The processor's <c>max_image_size</c>, the default of the option: a key of <paramref name="tokensPerCropBySize"/>.</param>
    /// <param name="minImageSize">The processor's <c>min_image_size</c>: the floor of the short side after resizing. It
    /// must not exceed the smallest supported size, since a request may switch <c>max_image_size</c> to any of them
    /// (with the reference's sizes: at most 490).</param>
    /// <param name="splitRatios">The <c>split_ratio</c> candidates (columns, rows); defaults to <see cref="AriaImageGeometry.DefaultSplitRatios"/>.</param>
    /// <param name="splitImage">The default of the <c>split_image</c> option.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokensPerCropBySize"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxImageSize"/> is not a key of
    /// <paramref name="tokensPerCropBySize"/> (the message lists the supported sizes), or <paramref name="minImageSize"/>
    /// is not in [1, the smallest supported size].</exception>
    /// <exception cref="ArgumentException"><paramref name="tokensPerCropBySize"/> is empty or has a non-positive size or
    /// token count, or <paramref name="splitRatios"/> is empty or has a non-positive entry.</exception>
    public AriaImagePreprocessor(IReadOnlyDictionary<int, int> tokensPerCropBySize, int maxImageSize, int minImageSize = 336, IEnumerable<GridShape>? splitRatios = null, bool splitImage = false)
    {
        _geometry = new AriaImageGeometry(tokensPerCropBySize, maxImageSize, minImageSize, splitRatios);

        // Every supported size must be usable, since a request may switch max_image_size.
        AriaImageGeometry.ThrowIfMinImageSizeOutOfRange(minImageSize, _geometry.SupportedImageSizes[0], "smallest supported max_image_size");
        _geometries = _geometry.SupportedImageSizes.ToDictionary(size => size, _geometry.WithMaxImageSize);
        SplitImage = splitImage;
    }
    /// <summary>Gets Aria's default preprocessor: 980, no split.</summary>
    public static AriaImagePreprocessor Aria { get; } = new();

    /// <summary>Gets the default <c>max_image_size</c> (the crop side).</summary>
    public int MaxImageSize => _geometry.MaxImageSize;

    /// <summary>Gets the floor of the short side after the keep-ratio resize.</summary>
    public int MinImageSize => _geometry.MinImageSize;

    /// <summary>Gets the split candidates (columns, rows).</summary>
    public IReadOnlyList<GridShape> SplitRatios => _geometry.SplitRatios;

    /// <summary>Gets the supported <c>max_image_size</c> values and the tokens one crop of each yields
    /// (<see cref="AriaImageGeometry.DefaultTokensPerCrop"/> unless the preprocessor was given another map).</summary>
    public IReadOnlyDictionary<int, int> TokensPerCropBySize => _geometry.TokensPerCropBySize;

    /// <summary>Gets the supported <c>max_image_size</c> values (of the constructor and the option), in ascending order.</summary>
    public IReadOnlyList<int> SupportedImageSizes => _geometry.SupportedImageSizes;

    /// <summary>Gets the tokens one crop of <see cref="MaxImageSize"/> yields.</summary>
    public int TokensPerCrop => _geometry.TokensPerCrop;

    /// <summary>Gets the default of the <c>split_image</c> option.</summary>
    public bool SplitImage { get; }

    /// <summary>Computes the crops one image gets with the given options.</summary>
    /// <param name="size">The image size.</param>
    /// <param name="options">The per-request options (<see cref="ImageSplitOptionKeys.MaxImageSize"/>, <see cref="ImageSplitOptionKeys.SplitImage"/>).</param>
    /// <returns>The crops, their resizes and the split ratio.</returns>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="size"/> is not positive, or <c>max_image_size</c>
    /// is not one of <see cref="SupportedImageSizes"/> (the message lists them).</exception>
    public AriaLayout GetLayout(PixelSize size, IReadOnlyDictionary<string, object?>? options = null)
    {
        var maxImageSize = ImageSplitOptionKeys.GetInt32(options, ImageSplitOptionKeys.MaxImageSize, MaxImageSize);
        var split = ImageSplitOptionKeys.GetBoolean(options, ImageSplitOptionKeys.SplitImage, SplitImage);
        if (!_geometries.TryGetValue(maxImageSize, out var geometry))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                maxImageSize,
                $"The max_image_size option must be one of the supported crop sizes: {AriaImageGeometry.FormatSizes(SupportedImageSizes)}.");
        }

        return geometry.Compute(size, split);
    }

    /// <inheritdoc />
    /// <remarks>The views are square RGB crops of <c>max_image_size</c>, already resized and padded: the global crop
    /// (<see cref="ImageViewKind.Global"/>) first, then the tiles row-major when split; the grid is the split ratio
    /// (0 × 0 when not split).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><c>max_image_size</c> is not one of <see cref="SupportedImageSizes"/>.</exception>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var layout = GetLayout(new PixelSize(image.Width, image.Height), options);

        // _split_image: resized_img = image.resize((M·c, M·r)) on the image as given (PIL's default filter, bicubic).
        var splitSource = layout.SplitResizeSize is { } splitSize ? FamilyPixels.ResizeBicubic(image, splitSize) : null;
        var views = new List<ImageView>(layout.NumCrops);
        foreach (var crop in layout.Crops)
        {
            var source = crop.SourceBox is { } box ? FamilyPixels.Crop(splitSource!, box) : image;
            var padded = KeepRatioResizeAndPad(ImageOperations.ToRgb(source), crop.Resize);
            _produced.AddOrUpdate(padded, crop.Resize);
            views.Add(new ImageView(padded, crop.Kind, crop.Row, crop.Column));
        }

        return layout.SplitRatio is { } ratio
            ? new ImageSplit(views, ratio.Rows, ratio.Columns)
            : new ImageSplit(views);
    }

    /// <inheritdoc />
    /// <remarks>A view from <see cref="Split"/> is only normalised; any other view is first converted to RGB, resized and
    /// padded to <see cref="MaxImageSize"/> as the reference processor does with any image.</remarks>
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (_produced.TryGetValue(view.Image, out _))
        {
            return FamilyPixels.HalfTorchvision.Process(view);
        }

        var rgb = ImageOperations.ToRgb(view.Image);
        var padded = KeepRatioResizeAndPad(rgb, ResizeOf(rgb));
        return FamilyPixels.HalfTorchvision.Process(view with { Image = padded });
    }

    /// <summary>Returns a view's <c>pixel_mask</c>: true on the resized image, false on the right and bottom padding.</summary>
    /// <param name="view">A view from <see cref="Split"/>, or any view <see cref="Process"/> accepts.</param>
    /// <returns>A <c>[max_image_size, max_image_size]</c> mask, row-major.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="view"/> is <see langword="null"/>.</exception>
    public DenseTensor<bool> GetPixelMask(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return CreatePixelMask(GetResize(view));
    }

    /// <summary>Builds a <c>pixel_mask</c> from a keep-ratio resize: <c>mask[:new_h, :new_w] = True</c> on a canvas² of false.</summary>
    /// <param name="resize">The resize and padding of one crop.</param>
    /// <returns>A <c>[canvas, canvas]</c> mask, row-major.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="resize"/> is <see langword="null"/>.</exception>
    public static DenseTensor<bool> CreatePixelMask(AriaResizeGeometry resize)
    {
        ArgumentNullException.ThrowIfNull(resize);
        var side = resize.CanvasSize;
        var mask = new DenseTensor<bool>(side, side);
        var span = mask.Span;
        for (var y = 0; y < resize.ResizeSize.Height; y++)
        {
            span.Slice(y * side, resize.ResizeSize.Width).Fill(true);
        }

        return mask;
    }

    /// <inheritdoc />
    /// <remarks>Each view counts the tokens of its crop size (<see cref="TokensPerCropBySize"/>: 256 at 980 and 128 at 490
    /// with the reference's projector); a video frame is one crop.</remarks>
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image)
    {
        ArgumentNullException.ThrowIfNull(split);
        return [.. split.Views.Select(v => _geometry.GetTokensPerCrop(GetResize(v).CanvasSize))];
    }

    /// <summary>Splits, processes and counts one image.</summary>
    /// <param name="image">The image.</param>
    /// <param name="options">The per-request options (<see cref="ImageSplitOptionKeys.MaxImageSize"/>, <see cref="ImageSplitOptionKeys.SplitImage"/>).</param>
    /// <returns>The crops, their <c>[3, M, M]</c> tensors and token counts (masks from <see cref="GetPixelMask"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    public PreprocessedImage Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) =>
        PreprocessedImage.Create(this, image, options);

    /// <summary>The resize a view had (from <see cref="Split"/>) or will get (in <see cref="Process"/>).</summary>
    private AriaResizeGeometry GetResize(ImageView view) =>
        _produced.TryGetValue(view.Image, out var resize) ? resize : ResizeOf(view.Image);

    private AriaResizeGeometry ResizeOf(ImageFrame image) =>
        AriaImageGeometry.KeepRatioResize(new PixelSize(image.Width, image.Height), MaxImageSize, MinImageSize);

    /// <summary>
    /// <c>keep_ratio_resize_and_pixel_mask</c>'s pixels: <c>img.resize(new_size, BICUBIC)</c>, then
    /// <c>ImageOps.expand(img, (0, 0, right, bottom), fill=0)</c>.
    /// </summary>
    private static ImageFrame KeepRatioResizeAndPad(ImageFrame rgb, AriaResizeGeometry resize)
    {
        if (resize.PaddingRight == 0 && resize.PaddingBottom == 0)
        {
            var resized = FamilyPixels.ResizeBicubic(rgb, resize.ResizeSize);
            return ReferenceEquals(resized, rgb) ? FamilyPixels.Crop(rgb, new PixelBox(0, 0, rgb.Width, rgb.Height)) : resized;
        }

        return ImageOperations.ResizeOntoCanvas(rgb, resize.ResizeSize.Width, resize.ResizeSize.Height, ResampleFilter.Bicubic, resize.CanvasSize, resize.CanvasSize, 0, 0);
    }
}
