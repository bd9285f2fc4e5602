// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Preprocessing;

/// <summary>
/// The geometry of MiniCPM-V 2.0's <c>slice_image</c> (openbmb/MiniCPM-V-2 <c>modeling_minicpmv.py</c>, LLaVA-UHD style):
/// a source view resized to ≈ <see cref="ScaleResolution"/>² pixels in multiples of <see cref="PatchSize"/>, plus up to
/// <see cref="MaxSliceNums"/> slices cut from a refined resize, and the placeholder layout the prompt needs.
/// </summary>
/// <remarks>
/// <para>Every rounding follows the reference: <c>int()</c> truncates, <c>round()</c> is half-to-even
/// (<see cref="MidpointRounding.ToEven"/>), <c>math.ceil</c>, <c>math.log</c> and <c>math.sqrt</c> are the C library's.
/// See FAMILIES.md §E.2 and §E.5.</para>
/// <para>Every view (source and slices) yields <see cref="QueryNum"/> resampler tokens (64 for MiniCPM-V 2.0).</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class MiniCpmVSliceGeometry
{
    /// <summary>Initializes the geometry from the model config.</summary>
    /// <param name="maxSliceNums">The config's <c>max_slice_nums</c>.</param>
    /// <param name="scaleResolution">The config's <c>scale_resolution</c>.</param>
    /// <param name="patchSize">The config's <c>patch_size</c>.</param>
    /// <param name="queryNum">The config's <c>query_num</c> (resampler queries per view).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is zero or negative.</exception>
    public MiniCpmVSliceGeometry(int maxSliceNums = 9, int scaleResolution = 448, int patchSize = 14, int queryNum = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSliceNums);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scaleResolution);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryNum);
        MaxSliceNums = maxSliceNums;
        ScaleResolution = scaleResolution;
        PatchSize = patchSize;
        QueryNum = queryNum;
    }

    /// <summary>Gets MiniCPM-V 2.0's configuration: 9 slices at most, 448, patch 14, 64 queries.</summary>
    public static MiniCpmVSliceGeometry MiniCpmV2 { get; } = new();

    /// <summary>Gets the maximum number of slices.</summary>
    public int MaxSliceNums { get; }

    /// <summary>Gets the target side whose square is the pixel budget of each view.</summary>
    public int ScaleResolution { get; }

    /// <summary>Gets the patch size every view side is a multiple of.</summary>
    public int PatchSize { get; }

    /// <summary>Gets the number of tokens per view.</summary>
    public int QueryNum { get; }

    /// <summary>Ports <c>slice_image(image, max_slice_nums, scale_resolution, patch_size, never_split)</c>.</summary>
    /// <param name="original">The image size.</param>
    /// <param name="neverSplit">The reference's <c>never_split</c>: only the upscaled source view.</param>
    /// <returns>The source view size, and when sliced the grid, the refine size and the slice boxes (row-major).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="original"/> is not positive.</exception>
    public MiniCpmVSliceLayout SliceImage(PixelSize original, bool neverSplit = false)
    {
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        var (originalWidth, originalHeight) = (original.Width, original.Height);
        var logRatio = Math.Log((double)originalWidth / originalHeight);
        var ratio = (double)original.Area / ((long)ScaleResolution * ScaleResolution);
        var multiple = (int)Math.Min(Math.Ceiling(ratio), MaxSliceNums);

        if (multiple <= 1 || neverSplit)
        {
            // Don't slice: the source is up- or down-sampled to about ScaleResolution² pixels.
            var bestSize = FindBestResize(originalWidth, originalHeight, ScaleResolution, PatchSize, allowUpscale: true);
            return new MiniCpmVSliceLayout(original, bestSize, null, null, [], QueryNum);
        }

        var candidateSplitGridsNums = new List<int>(3);
        foreach (var i in (ReadOnlySpan<int>)[multiple - 1, multiple, multiple + 1])
        {
            if (i == 1 || i > MaxSliceNums)
            {
                continue;
            }

            candidateSplitGridsNums.Add(i);
        }

        // The source image is only ever downsampled here (its area exceeds ScaleResolution²).
        var bestResize = FindBestResize(originalWidth, originalHeight, ScaleResolution, PatchSize, allowUpscale: false);

        var candidateGrids = new List<GridShape>();
        foreach (var splitGridsNums in candidateSplitGridsNums)
        {
            for (var m = 1; m <= splitGridsNums; m++)
            {
                if (splitGridsNums % m == 0)
                {
                    candidateGrids.Add(new GridShape(m, splitGridsNums / m));
                }
            }
        }

        var bestGrid = new GridShape(1, 1);
        var minError = double.PositiveInfinity;
        foreach (var grid in candidateGrids)
        {
            var error = Math.Abs(logRatio - Math.Log((double)grid.Columns / grid.Rows));
            if (error < minError)
            {
                bestGrid = grid;
                minError = error;
            }
        }

        var refineSize = GetRefineSize(original, bestGrid, ScaleResolution, PatchSize, allowUpscale: true);
        var slices = SplitToPatches(refineSize, bestGrid);
        return new MiniCpmVSliceLayout(original, bestResize, bestGrid, refineSize, slices, QueryNum);
    }

    /// <summary>
    /// Builds the image placeholder text of <c>get_slice_image_placeholder</c>: the source placeholder
    /// (<paramref name="imageStart"/> + <see cref="QueryNum"/> × <paramref name="unknown"/> + <paramref name="imageEnd"/>),
    /// then, when sliced, <c>get_grid_placeholder</c>: <paramref name="sliceStart"/>, one line per grid row (the row's
    /// placeholders concatenated, lines joined by <c>\n</c>), <paramref name="sliceEnd"/>.
    /// </summary>
    /// <param name="layout">The slicing of the image.</param>
    /// <param name="imageStart">The tokenizer's <c>im_start</c>.</param>
    /// <param name="unknown">The tokenizer's <c>unk_token</c>.</param>
    /// <param name="imageEnd">The tokenizer's <c>im_end</c>.</param>
    /// <param name="sliceStart">The tokenizer's <c>slice_start</c>.</param>
    /// <param name="sliceEnd">The tokenizer's <c>slice_end</c>.</param>
    /// <returns>The placeholder; <c>chat()</c> appends <c>\n</c> and the question.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="layout"/> or a token is <see langword="null"/>.</exception>
    public string GetSliceImagePlaceholder(
        MiniCpmVSliceLayout layout,
        string imageStart = "<image>",
        string unknown = "<unk>",
        string imageEnd = "</image>",
        string sliceStart = "<slice>",
        string sliceEnd = "</slice>")
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(imageStart);
        ArgumentNullException.ThrowIfNull(unknown);
        ArgumentNullException.ThrowIfNull(imageEnd);
        ArgumentNullException.ThrowIfNull(sliceStart);
        ArgumentNullException.ThrowIfNull(sliceEnd);
        var builder = new StringBuilder();
        AppendImage(builder);
        if (layout.Slices.Count > 0 && layout.Grid is { } grid)
        {
            builder.Append(sliceStart);
            for (var i = 0; i < grid.Rows; i++)
            {
                if (i > 0)
                {
                    builder.Append('\n');
                }

                for (var j = 0; j < grid.Columns; j++)
                {
                    AppendImage(builder);
                }
            }

            builder.Append(sliceEnd);
        }

        return builder.ToString();

        void AppendImage(StringBuilder b)
        {
            b.Append(imageStart);
            for (var q = 0; q < QueryNum; q++)
            {
                b.Append(unknown);
            }

            b.Append(imageEnd);
        }
    }

    /// <summary>Ports <c>ensure_divide(length, patch_size)</c>: max(round(length / p) · p, p) with half-to-even rounding.</summary>
    /// <param name="length">The length (an integer or, inside <see cref="GetRefineSize"/>, a fraction).</param>
    /// <param name="patchSize">The divisor p.</param>
    /// <returns>The nearest positive multiple of p.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="patchSize"/> is not positive.</exception>
    /// <exception cref="OverflowException">The result would not fit in an <see cref="int"/>.</exception>
    public static int EnsureDivide(double length, int patchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        var rounded = checked((int)Math.Round(length / patchSize, MidpointRounding.ToEven) * patchSize);
        return Math.Max(rounded, patchSize);
    }

    /// <summary>
    /// Ports <c>find_best_resize(original_size, scale_resolution, patch_size, allow_upscale)</c>: when the area exceeds
    /// S² or upscaling is allowed, r = w/h, h' = int(S/√r), w' = int(h'·r); then both sides go through
    /// <see cref="EnsureDivide"/>.
    /// </summary>
    /// <param name="width">The width (fractional inside <see cref="GetRefineSize"/>).</param>
    /// <param name="height">The height.</param>
    /// <param name="scaleResolution">S.</param>
    /// <param name="patchSize">The patch size.</param>
    /// <param name="allowUpscale">Whether images smaller than S² are scaled up too.</param>
    /// <returns>The resize target (width, height), multiples of the patch size.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive.</exception>
    public static PixelSize FindBestResize(double width, double height, int scaleResolution, int patchSize, bool allowUpscale = false)
    {
        if (!(width > 0) || !(height > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(width), (width, height), "Both sides must be positive.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scaleResolution);
        if (width * height > (double)scaleResolution * scaleResolution || allowUpscale)
        {
            var r = width / height;
            var newHeight = (double)(long)(scaleResolution / Math.Sqrt(r));
            width = (long)(newHeight * r);
            height = newHeight;
        }

        return new PixelSize(EnsureDivide(width, patchSize), EnsureDivide(height, patchSize));
    }

    /// <summary>
    /// Ports <c>get_refine_size(original_size, grid, scale_resolution, patch_size, allow_upscale)</c>: round each side to
    /// a multiple of its grid count, size one cell with <see cref="FindBestResize"/>, and multiply back.
    /// </summary>
    /// <param name="original">The image size.</param>
    /// <param name="grid">The grid (columns, rows).</param>
    /// <param name="scaleResolution">S.</param>
    /// <param name="patchSize">The patch size.</param>
    /// <param name="allowUpscale">Passed to <see cref="FindBestResize"/> (the reference passes <see langword="true"/>).</param>
    /// <returns>The refine size (width, height) the slices are cut from.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static PixelSize GetRefineSize(PixelSize original, GridShape grid, int scaleResolution, int patchSize, bool allowUpscale = false)
    {
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(grid.Columns, nameof(grid));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(grid.Rows, nameof(grid));
        var (gridX, gridY) = (grid.Columns, grid.Rows);
        var refineWidth = EnsureDivide(original.Width, gridX);
        var refineHeight = EnsureDivide(original.Height, gridY);
        var gridWidth = (double)refineWidth / gridX;
        var gridHeight = (double)refineHeight / gridY;
        var bestGridSize = FindBestResize(gridWidth, gridHeight, scaleResolution, patchSize, allowUpscale);
        return new PixelSize(bestGridSize.Width * gridX, bestGridSize.Height * gridY);
    }

    /// <summary>
    /// Ports <c>split_to_patches(image, grid)</c>: cells of int(W / cols) × int(H / rows), rows top to bottom (outer loop),
    /// columns left to right (inner loop); boxes (x, y, x + cw, y + ch).
    /// </summary>
    /// <param name="image">The refine size.</param>
    /// <param name="grid">The grid (columns, rows).</param>
    /// <returns>The slices, row-major, with their row and column.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or a cell would be empty.</exception>
    public static IReadOnlyList<GridTile> SplitToPatches(PixelSize image, GridShape grid)
    {
        PixelSize.ThrowIfNotPositive(image, nameof(image));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(grid.Columns, nameof(grid));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(grid.Rows, nameof(grid));
        var gridX = image.Width / grid.Columns;
        var gridY = image.Height / grid.Rows;
        ArgumentOutOfRangeException.ThrowIfZero(gridX, nameof(grid));
        ArgumentOutOfRangeException.ThrowIfZero(gridY, nameof(grid));

        var patches = new List<GridTile>();
        var row = 0;
        for (var i = 0; i < image.Height; i += gridY, row++)
        {
            var column = 0;
            for (var j = 0; j < image.Width; j += gridX, column++)
            {
                patches.Add(new GridTile(row, column, new PixelBox(j, i, j + gridX, i + gridY)));
            }
        }

        return patches;
    }
}

/// <summary>The views <see cref="MiniCpmVSliceGeometry.SliceImage"/> produces for one image.</summary>
/// <remarks>
/// The model sees <c>[source, slice(0,0), slice(0,1), …]</c>: first the original resized to <see cref="SourceSize"/>,
/// then the original resized to <see cref="RefineSize"/> and cut into <see cref="Slices"/> (row-major). Every view is
/// resized with PIL bicubic and yields <see cref="QueryNum"/> tokens.
/// </remarks>
/// <param name="Original">The image size.</param>
/// <param name="SourceSize">The size the source view is resized to.</param>
/// <param name="Grid">The slice grid (<c>best_grid</c>), or <see langword="null"/> when the image is not sliced.</param>
/// <param name="RefineSize">The size the image is resized to before slicing, or <see langword="null"/> when not sliced.</param>
/// <param name="Slices">The slice boxes in the refined image, row-major (empty when not sliced).</param>
/// <param name="QueryNum">The tokens per view.</param>
public sealed record MiniCpmVSliceLayout(
    PixelSize Original,
    PixelSize SourceSize,
    GridShape? Grid,
    PixelSize? RefineSize,
    IReadOnlyList<GridTile> Slices,
    int QueryNum)
{
    /// <summary>Gets the number of grid rows for the slice placeholder (0 when not sliced).</summary>
    public int GridRows => Grid?.Rows ?? 0;

    /// <summary>Gets the number of grid columns for the slice placeholder (0 when not sliced).</summary>
    public int GridColumns => Grid?.Columns ?? 0;

    /// <summary>Gets the number of images fed to the model: the source plus the slices.</summary>
    public int ImageCount => 1 + Slices.Count;

    /// <summary>Gets the number of visual tokens of the image (<see cref="ImageCount"/> × <see cref="QueryNum"/>).</summary>
    public int TokenCount => ImageCount * QueryNum;

    /// <summary>Gets the images fed to the model in order: the source (the original resized to <see cref="SourceSize"/>), then the slices row-major (boxes in the image resized to <see cref="RefineSize"/>).</summary>
    public IReadOnlyList<SplitView> Views =>
        [new SplitView(ImageViewKind.Global, 0, 0, null, SourceSize), .. Slices.Select(s => new SplitView(ImageViewKind.Tile, s.Row, s.Column, s.Box, s.Box.Size))];
}
