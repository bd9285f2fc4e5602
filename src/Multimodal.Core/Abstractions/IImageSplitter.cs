// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Splits an image into the ordered views a family encodes: a global (overview) image and/or tiles.</summary>
/// <remarks>Splitters are stateless parameter objects and thread-safe.</remarks>
public interface IImageSplitter
{
    /// <summary>Splits one image.</summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="options">Per-request options (for example Aria's <c>split_image</c> or MiniCPM-V's <c>max_slice_nums</c>); <see langword="null"/> for defaults.</param>
    /// <returns>The views in the order the family's prompt lays them out, with the grid layout.</returns>
    ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null);
}

/// <summary>The role of a view in an <see cref="ImageSplit"/>.</summary>
public enum ImageViewKind
{
    /// <summary>The whole image, usually resized (the "global" or "source" view).</summary>
    Global,

    /// <summary>One tile of a grid.</summary>
    Tile,
}

/// <summary>One view produced by a splitter.</summary>
/// <param name="Image">The view's pixels.</param>
/// <param name="Kind">Whether it is the global view or a tile.</param>
/// <param name="Row">The tile's row in the grid (0 for the global view).</param>
/// <param name="Column">The tile's column in the grid (0 for the global view).</param>
public sealed record ImageView(ImageFrame Image, ImageViewKind Kind, int Row = 0, int Column = 0);

/// <summary>The result of <see cref="IImageSplitter.Split"/>: views plus the layout the prompt template needs.</summary>
/// <param name="Views">The views in prompt order.</param>
/// <param name="GridRows">The number of tile rows (0 when not tiled).</param>
/// <param name="GridColumns">The number of tile columns (0 when not tiled).</param>
public sealed record ImageSplit(IReadOnlyList<ImageView> Views, int GridRows = 0, int GridColumns = 0)
{
    /// <summary>Creates a split with the image as its only (global) view.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The split.</returns>
    public static ImageSplit Single(ImageFrame image) => new([new ImageView(image, ImageViewKind.Global)]);
}

/// <summary>Turns one view into the normalised pixel tensor a vision encoder expects (resize, crop, rescale, normalise).</summary>
/// <remarks>Processors are stateless parameter objects and thread-safe.</remarks>
public interface IImageProcessor
{
    /// <summary>Preprocesses one view.</summary>
    /// <param name="view">The view.</param>
    /// <returns>A tensor <c>[3, height, width]</c>.</returns>
    DenseTensor<float> Process(ImageView view);
}
