// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>
/// LongVA's image pipeline (EvolvingLMMs-Lab/LongVA <c>longva/longva/mm_utils.py::process_anyres_image</c>): convert to
/// RGB; a base view <c>image.resize((336, 336))</c> (aspect not kept) first; then the image resized keeping its aspect
/// ratio and pasted centred on a black canvas of the best pinpoint resolution, cut into 336 × 336 tiles row-major; every
/// view through CLIP-336 (HF rescale, CLIP mean/std). Video frames go through CLIP-336 alone.
/// </summary>
/// <remarks>
/// <para>All resizes are PIL bicubic (the default filter of <c>Image.resize</c> for RGB). See FAMILIES.md §C.1, §C.6.</para>
/// <para>Tokens: UniRes drops the base view's features and pools each tile's 24 × 24 map to 12 × 12, so the base view
/// counts 0 and every tile 144 (<see cref="VisualTokenCounts.LongVaPerTile"/>); a video frame counts 144 too
/// (<see cref="VisualTokenCounts.LongVaPerFrame"/>). The base view is still produced because the reference encodes it.</para>
/// <para><see cref="Process"/> applies the CLIP resize and crop to any view (identities for the 336 × 336 views of
/// <see cref="Split"/>), so raw video frames can be passed to it directly.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class LongVaImagePreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    private readonly ClipImagePreprocessor _clip;

    /// <summary>Initializes the preprocessor.</summary>
    /// <param name="geometry">The anyres geometry (pinpoints, tile and base sizes); defaults to <see cref="AnyResGeometry.LongVa"/>.</param>
    public LongVaImagePreprocessor(AnyResGeometry? geometry = null)
    {
        Geometry = geometry ?? AnyResGeometry.LongVa;

        // The processor LongVA loads has size.shortest_edge = BaseSize and crop_size = TileSize (both 336).
        _clip = new ClipImagePreprocessor(new ClipImageGeometry(Geometry.BaseSize, Geometry.TileSize, Geometry.PatchSize));
    }

    /// <summary>Gets LongVA-7B's preprocessor (its 195 pinpoints, 336 tiles, 2 × 2 pooling).</summary>
    public static LongVaImagePreprocessor LongVa { get; } = new();

    /// <summary>Gets the anyres geometry.</summary>
    public AnyResGeometry Geometry { get; }

    /// <summary>Gets the visual tokens of one video frame (its 24 × 24 map pooled 2 × 2).</summary>
    public int TokensPerFrame => Geometry.PooledTokensPerTile;

    /// <inheritdoc />
    /// <remarks>No options are read. The views are the base view (<see cref="ImageViewKind.Global"/>) and the tiles
    /// (<see cref="ImageViewKind.Tile"/>, row-major), all <see cref="AnyResGeometry.TileSize"/>²; the grid is the selected
    /// pinpoint in tiles.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = ImageOperations.ToRgb(image);
        var layout = Geometry.Compute(new PixelSize(rgb.Width, rgb.Height));

        // resize_and_pad_image: Image.new("RGB", target, (0, 0, 0)).paste(image.resize(new_size), (paste_x, paste_y)).
        var pad = layout.ResizeAndPad;
        var canvas = ImageOperations.ResizeOntoCanvas(
            rgb,
            pad.ResizeSize.Width,
            pad.ResizeSize.Height,
            ResampleFilter.Bicubic,
            pad.Target.Width,
            pad.Target.Height,
            pad.PasteOffset.X,
            pad.PasteOffset.Y);

        var views = new List<ImageView>(layout.ViewCount)
        {
            new(_clip.Transform(FamilyPixels.ResizeBicubic(rgb, layout.BaseViewSize)), ImageViewKind.Global),
        };
        foreach (var tile in layout.Tiles)
        {
            views.Add(new ImageView(_clip.Transform(FamilyPixels.Crop(canvas, tile.Box)), ImageViewKind.Tile, tile.Row, tile.Column));
        }

        return new ImageSplit(views, layout.Grid.Rows, layout.Grid.Columns);
    }

    /// <inheritdoc />
    public DenseTensor<float> Process(ImageView view) => _clip.Process(view);

    /// <inheritdoc />
    /// <remarks>
    /// For an image with more than one view: 0 for the base view (UniRes drops it) and
    /// <see cref="AnyResGeometry.PooledTokensPerTile"/> per tile; a single view keeps its unpooled
    /// <see cref="AnyResGeometry.TokensPerView"/>. For a video, <see cref="TokensPerFrame"/> per frame.
    /// </remarks>
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image)
    {
        ArgumentNullException.ThrowIfNull(split);
        if (kind == VisualInputKind.Video)
        {
            return FamilyPixels.Repeat(split.Views.Count, TokensPerFrame);
        }

        if (split.Views.Count <= 1)
        {
            return FamilyPixels.Repeat(split.Views.Count, Geometry.TokensPerView);
        }

        return [.. split.Views.Select(v => v.Kind == ImageViewKind.Global ? 0 : Geometry.PooledTokensPerTile)];
    }

    /// <summary>Splits, processes and counts one image.</summary>
    /// <param name="image">The image.</param>
    /// <param name="options">Ignored.</param>
    /// <returns>The base view and tiles, their <c>[3, 336, 336]</c> tensors and token counts.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public PreprocessedImage Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) =>
        PreprocessedImage.Create(this, image, options);
}
