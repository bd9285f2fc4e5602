// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;

namespace Multimodal.Preprocessing;

/// <summary>An image size in pixels, written width × height as in PIL's <c>Image.size</c>.</summary>
/// <param name="Width">The width in pixels.</param>
/// <param name="Height">The height in pixels.</param>
public readonly record struct PixelSize(int Width, int Height)
{
    /// <summary>Gets the number of pixels, computed without overflow.</summary>
    public long Area => (long)Width * Height;

    /// <summary>Returns the size as <c>WIDTHxHEIGHT</c>.</summary>
    /// <returns>The formatted size.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Width}x{Height}");

    /// <summary>Throws when either side is not positive.</summary>
    /// <param name="size">The size to check.</param>
    /// <param name="paramName">The parameter name to report.</param>
    /// <exception cref="ArgumentOutOfRangeException">A side is zero or negative.</exception>
    internal static void ThrowIfNotPositive(PixelSize size, string paramName)
    {
        if (size.Width <= 0 || size.Height <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, size, "Both sides of an image size must be positive.");
        }
    }
}

/// <summary>A pixel offset (for example where an image is pasted on a canvas), as PIL's <c>paste(im, (x, y))</c>.</summary>
/// <param name="X">The horizontal offset in pixels.</param>
/// <param name="Y">The vertical offset in pixels.</param>
public readonly record struct PixelOffset(int X, int Y);

/// <summary>A crop box in PIL's convention <c>(left, upper, right, lower)</c>: right and lower are exclusive.</summary>
/// <remarks>A box may extend past the image it is applied to; PIL's <c>Image.crop</c> fills that part with zeros.</remarks>
/// <param name="Left">The first column.</param>
/// <param name="Top">The first row.</param>
/// <param name="Right">One past the last column.</param>
/// <param name="Bottom">One past the last row.</param>
public readonly record struct PixelBox(int Left, int Top, int Right, int Bottom)
{
    /// <summary>Gets the box width (<see cref="Right"/> − <see cref="Left"/>).</summary>
    public int Width => Right - Left;

    /// <summary>Gets the box height (<see cref="Bottom"/> − <see cref="Top"/>).</summary>
    public int Height => Bottom - Top;

    /// <summary>Gets the box size.</summary>
    public PixelSize Size => new(Width, Height);

    /// <summary>Gets the top-left corner.</summary>
    public PixelOffset Origin => new(Left, Top);

    /// <summary>Returns the box as <c>(left, top, right, bottom)</c>.</summary>
    /// <returns>The formatted box.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"({Left}, {Top}, {Right}, {Bottom})");
}

/// <summary>A tile grid: <see cref="Columns"/> across and <see cref="Rows"/> down.</summary>
/// <remarks>The reference code writes grids as <c>[cols, rows]</c> (MiniCPM-V <c>best_grid</c>, Aria split ratios, LLaVA
/// <c>get_anyres_image_grid_shape</c>); this type keeps that order in its constructor.</remarks>
/// <param name="Columns">The number of tile columns.</param>
/// <param name="Rows">The number of tile rows.</param>
public readonly record struct GridShape(int Columns, int Rows)
{
    /// <summary>Gets the number of tiles (<see cref="Columns"/> × <see cref="Rows"/>).</summary>
    public int Count => Columns * Rows;

    /// <summary>Returns the grid as <c>COLSxROWS</c>.</summary>
    /// <returns>The formatted grid.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Columns}x{Rows}");
}

/// <summary>One tile of a grid split: its position in the grid and the box cut from the intermediate image.</summary>
/// <param name="Row">The tile row, counted from the top.</param>
/// <param name="Column">The tile column, counted from the left.</param>
/// <param name="Box">The crop box in the intermediate (resized or padded) image the tiles are cut from.</param>
public sealed record GridTile(int Row, int Column, PixelBox Box);

/// <summary>One view of a split image, in the order the family encodes and the prompt lays out the views.</summary>
/// <param name="Kind">Whether this is the whole (global or source) view or a tile.</param>
/// <param name="Row">The tile row (0 for the global view).</param>
/// <param name="Column">The tile column (0 for the global view).</param>
/// <param name="Box">For a tile, its box in the family's intermediate image (described by the layout that lists it); <see langword="null"/> for the global view, which is the whole original image resized.</param>
/// <param name="Size">The size of the view's pixels as the vision tower receives them.</param>
public sealed record SplitView(ImageViewKind Kind, int Row, int Column, PixelBox? Box, PixelSize Size);
