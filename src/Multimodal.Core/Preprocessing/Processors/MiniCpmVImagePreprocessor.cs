// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>
/// MiniCPM-V 2.0's image pipeline (openbmb/MiniCPM-V-2 <c>modeling_minicpmv.py</c>, <c>slice_image</c> and
/// <c>transform</c>): convert to RGB; the source view (the image resized with PIL bicubic to about 448² pixels in
/// multiples of 14) first; then, when the image is large enough, the image resized bicubic to the refine size and cut into
/// slices row-major; every view normalised with torchvision's <c>ToTensor</c> (÷ 255 in float32) and mean = std = 0.5.
/// </summary>
/// <remarks>
/// <para>Views have variable sizes and are never padded; each runs through the vision tower on its own. Options:
/// <see cref="ImageSplitOptionKeys.MaxSliceNums"/> and <see cref="ImageSplitOptionKeys.NeverSplit"/>, as the reference's
/// <c>slice_image</c> arguments. See FAMILIES.md §E.1–E.2.</para>
/// <para>Every view yields <see cref="MiniCpmVSliceGeometry.QueryNum"/> tokens (64). The grid (rows, columns) of the
/// split is what <c>get_grid_placeholder</c> lays out; <see cref="MiniCpmVSliceGeometry.GetSliceImagePlaceholder"/>
/// builds the placeholder text.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class MiniCpmVImagePreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    /// <summary>Initializes the preprocessor.</summary>
    /// <param name="geometry">The slicing configuration; defaults to <see cref="MiniCpmVSliceGeometry.MiniCpmV2"/>.</param>
    public MiniCpmVImagePreprocessor(MiniCpmVSliceGeometry? geometry = null)
    {
        Geometry = geometry ?? MiniCpmVSliceGeometry.MiniCpmV2;
    }

    /// <summary>Gets MiniCPM-V 2.0's preprocessor (9 slices at most, 448, patch 14, 64 tokens per view).</summary>
    public static MiniCpmVImagePreprocessor MiniCpmV2 { get; } = new();

    /// <summary>Gets the slicing configuration (its <see cref="MiniCpmVSliceGeometry.MaxSliceNums"/> is the default of the option).</summary>
    public MiniCpmVSliceGeometry Geometry { get; }

    /// <summary>Computes the slicing one image gets with the given options.</summary>
    /// <param name="size">The image size.</param>
    /// <param name="options">The per-request options (<see cref="ImageSplitOptionKeys.MaxSliceNums"/>, <see cref="ImageSplitOptionKeys.NeverSplit"/>).</param>
    /// <returns>The source size, grid, refine size and slice boxes.</returns>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="size"/> is not positive, or <c>max_slice_nums</c> is below 1.</exception>
    public MiniCpmVSliceLayout GetLayout(PixelSize size, IReadOnlyDictionary<string, object?>? options = null)
    {
        var maxSliceNums = ImageSplitOptionKeys.GetInt32(options, ImageSplitOptionKeys.MaxSliceNums, Geometry.MaxSliceNums);
        var neverSplit = ImageSplitOptionKeys.GetBoolean(options, ImageSplitOptionKeys.NeverSplit, false);
        if (maxSliceNums < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), maxSliceNums, "The max_slice_nums option must be at least 1.");
        }

        var geometry = maxSliceNums == Geometry.MaxSliceNums
            ? Geometry
            : new MiniCpmVSliceGeometry(maxSliceNums, Geometry.ScaleResolution, Geometry.PatchSize, Geometry.QueryNum);
        return geometry.SliceImage(size, neverSplit);
    }

    /// <inheritdoc />
    /// <remarks>The views are the source (<see cref="ImageViewKind.Global"/>) and the slices (<see cref="ImageViewKind.Tile"/>,
    /// row-major); the grid is 0 × 0 when the image is not sliced.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><c>max_slice_nums</c> is below 1.</exception>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = ImageOperations.ToRgb(image);
        var layout = GetLayout(new PixelSize(rgb.Width, rgb.Height), options);
        var views = new List<ImageView>(layout.ImageCount)
        {
            new(FamilyPixels.ResizeBicubic(rgb, layout.SourceSize), ImageViewKind.Global),
        };
        if (layout.RefineSize is { } refineSize && layout.Slices.Count > 0)
        {
            // Each slice is resampled straight from the source (the same pixels as cropping the refined image).
            var unchanged = refineSize.Width == rgb.Width && refineSize.Height == rgb.Height;
            foreach (var slice in layout.Slices)
            {
                var pixels = unchanged
                    ? FamilyPixels.Crop(rgb, slice.Box)
                    : ImageOperations.ResizeAndCrop(rgb, refineSize.Width, refineSize.Height, ResampleFilter.Bicubic, slice.Box);
                views.Add(new ImageView(pixels, ImageViewKind.Tile, slice.Row, slice.Column));
            }
        }

        return new ImageSplit(views, layout.GridRows, layout.GridColumns);
    }

    /// <inheritdoc />
    /// <remarks>Only converts to RGB and normalises: views keep their size (the reference resizes in <c>slice_image</c>).</remarks>
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var rgb = ImageOperations.ToRgb(view.Image);
        return FamilyPixels.HalfTorchvision.Process(ReferenceEquals(rgb, view.Image) ? view : view with { Image = rgb });
    }

    /// <inheritdoc />
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image)
    {
        ArgumentNullException.ThrowIfNull(split);
        return FamilyPixels.Repeat(split.Views.Count, Geometry.QueryNum);
    }

    /// <summary>Splits, processes and counts one image.</summary>
    /// <param name="image">The image.</param>
    /// <param name="options">The per-request options (<see cref="ImageSplitOptionKeys.MaxSliceNums"/>, <see cref="ImageSplitOptionKeys.NeverSplit"/>).</param>
    /// <returns>The source and slices, their <c>[3, H, W]</c> tensors and token counts.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    public PreprocessedImage Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) =>
        PreprocessedImage.Create(this, image, options);
}
