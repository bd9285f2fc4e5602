// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>
/// The geometry of LLaVA-NeXT "anyres" (<c>process_anyres_image</c> in haotian-liu/LLaVA and EvolvingLMMs-Lab/LongVA
/// <c>mm_utils.py</c>), which LongVA's UniRes uses: pick a pinpoint resolution, resize keeping the aspect ratio and pad
/// centred on black, cut <see cref="TileSize"/> tiles row-major, and put a squashed base view first.
/// </summary>
/// <remarks>
/// <para>Pinpoints are (width, height) as in the original code (TF's port uses (height, width)). See FAMILIES.md §0.5,
/// §C.1–C.2.</para>
/// <para>Tokens: every view yields (<see cref="TileSize"/>/14)² = 576 CLIP tokens; UniRes drops the base view and
/// 2×2-average-pools each tile's 24×24 map to 12×12 = 144 tokens, so an image yields 144 × tiles.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class AnyResGeometry
{
    private readonly PixelSize[] _pinpoints;

    /// <summary>Initializes the geometry.</summary>
    /// <param name="gridPinpoints">The candidate resolutions (width, height), in config order (order breaks ties).</param>
    /// <param name="tileSize">The tile side (<c>processor.crop_size["height"]</c>).</param>
    /// <param name="baseSize">The base view side (<c>processor.size["shortest_edge"]</c>).</param>
    /// <param name="patchSize">The vision tower's patch size.</param>
    /// <param name="poolStride">The UniRes average-pool stride applied to each tile's token map.</param>
    /// <exception cref="ArgumentNullException"><paramref name="gridPinpoints"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="gridPinpoints"/> is empty or has a non-positive size.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is not positive.</exception>
    public AnyResGeometry(IEnumerable<PixelSize> gridPinpoints, int tileSize = 336, int baseSize = 336, int patchSize = 14, int poolStride = 2)
    {
        ArgumentNullException.ThrowIfNull(gridPinpoints);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tileSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baseSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(poolStride);
        _pinpoints = [.. gridPinpoints];
        if (_pinpoints.Length == 0 || _pinpoints.Any(p => p.Width <= 0 || p.Height <= 0))
        {
            throw new ArgumentException("The grid pinpoints must be a non-empty list of positive sizes.", nameof(gridPinpoints));
        }

        TileSize = tileSize;
        BaseSize = baseSize;
        PatchSize = patchSize;
        PoolStride = poolStride;
    }

    /// <summary>
    /// Gets LongVA's <c>image_grid_pinpoints</c> (longva/scripts/finetune.sh): every (336·i, 336·j) with i, j ≥ 1,
    /// i·j ≤ 49, except (336, 336), listed i-major with j ascending — 195 entries.
    /// </summary>
    public static IReadOnlyList<PixelSize> LongVaGridPinpoints { get; } = CreateLongVaPinpoints();

    /// <summary>Gets the LLaVA-1.6 (LLaVA-NeXT) pinpoints: (336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008).</summary>
    public static IReadOnlyList<PixelSize> LlavaNextGridPinpoints { get; } =
        [new(336, 672), new(672, 336), new(672, 672), new(1008, 336), new(336, 1008)];

    /// <summary>Gets LongVA's UniRes geometry (CLIP-336 tiles, LongVA pinpoints, 2×2 pooling).</summary>
    public static AnyResGeometry LongVa { get; } = new(LongVaGridPinpoints);

    /// <summary>Gets the candidate resolutions (width, height).</summary>
    public IReadOnlyList<PixelSize> GridPinpoints => _pinpoints;

    /// <summary>Gets the tile side.</summary>
    public int TileSize { get; }

    /// <summary>Gets the base view side.</summary>
    public int BaseSize { get; }

    /// <summary>Gets the vision tower's patch size.</summary>
    public int PatchSize { get; }

    /// <summary>Gets the UniRes pooling stride.</summary>
    public int PoolStride { get; }

    /// <summary>Gets the tokens one view yields before pooling: (tile / patch)² (576 for CLIP-336).</summary>
    public int TokensPerView => (TileSize / PatchSize) * (TileSize / PatchSize);

    /// <summary>Gets the tokens one tile yields after UniRes pooling: ((tile / patch) / stride)² (144 for LongVA).</summary>
    public int PooledTokensPerTile => (TileSize / PatchSize / PoolStride) * (TileSize / PatchSize / PoolStride);

    /// <summary>Computes the views <c>process_anyres_image</c> produces for an image, base view first.</summary>
    /// <param name="original">The image size.</param>
    /// <returns>The chosen resolution, the resize-and-pad geometry, and the tiles in row-major order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="original"/> is not positive.</exception>
    public AnyResLayout Compute(PixelSize original)
    {
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        var best = SelectBestResolution(original, _pinpoints);
        var resizeAndPad = ResizeAndPadImage(original, best);
        var boxes = DivideToPatches(best, TileSize);
        var columns = (best.Width + TileSize - 1) / TileSize;
        var tiles = new GridTile[boxes.Count];
        for (var i = 0; i < tiles.Length; i++)
        {
            tiles[i] = new GridTile(i / columns, i % columns, boxes[i]);
        }

        var grid = new GridShape(best.Width / TileSize, best.Height / TileSize);
        var tokens = UniResTokenCount(1 + tiles.Length, grid);
        return new AnyResLayout(original, best, resizeAndPad, grid, new PixelSize(BaseSize, BaseSize), tiles, tokens);
    }

    /// <summary>
    /// Ports <c>select_best_resolution(original_size, possible_resolutions)</c>: for each (w, h) in order,
    /// s = min(w/W, h/H), effective = min(int(W·s)·int(H·s), W·H), wasted = w·h − effective; a candidate replaces the
    /// best when its effective resolution is strictly larger, or equal with strictly less waste (first wins ties).
    /// </summary>
    /// <param name="original">The image size (width, height).</param>
    /// <param name="possibleResolutions">The candidates (width, height).</param>
    /// <returns>The best fit (width, height).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="possibleResolutions"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="possibleResolutions"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A side of <paramref name="original"/> is not positive.</exception>
    public static PixelSize SelectBestResolution(PixelSize original, IReadOnlyList<PixelSize> possibleResolutions)
    {
        ArgumentNullException.ThrowIfNull(possibleResolutions);
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        if (possibleResolutions.Count == 0)
        {
            throw new ArgumentException("At least one resolution is needed.", nameof(possibleResolutions));
        }

        var (originalWidth, originalHeight) = (original.Width, original.Height);
        PixelSize? bestFit = null;
        long maxEffective = 0;
        var minWasted = double.PositiveInfinity;
        foreach (var candidate in possibleResolutions)
        {
            var (width, height) = (candidate.Width, candidate.Height);
            var scale = Math.Min((double)width / originalWidth, (double)height / originalHeight);
            var downscaledWidth = (long)(originalWidth * scale);
            var downscaledHeight = (long)(originalHeight * scale);
            var effective = Math.Min(downscaledWidth * downscaledHeight, (long)originalWidth * originalHeight);
            var wasted = ((long)width * height) - effective;

            // Python compares int with float('inf') exactly; every long is below +inf and the int-int comparisons are exact.
            if (effective > maxEffective || (effective == maxEffective && wasted < minWasted))
            {
                maxEffective = effective;
                minWasted = wasted;
                bestFit = candidate;
            }
        }

        // The first candidate always wins against (0, +inf), so bestFit is set.
        return bestFit!.Value;
    }

    /// <summary>
    /// Ports <c>resize_and_pad_image(image, target_resolution)</c>: with sw = tw/W and sh = th/H, the new size is
    /// (tw, min(ceil(H·sw), th)) when sw &lt; sh, else (min(ceil(W·sh), tw), th); the resized image is pasted on a black
    /// tw × th canvas at ((tw − nw)//2, (th − nh)//2).
    /// </summary>
    /// <param name="original">The image size.</param>
    /// <param name="target">The target resolution (width, height).</param>
    /// <returns>The resize target and paste offset.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static ResizeAndPadGeometry ResizeAndPadImage(PixelSize original, PixelSize target)
    {
        PixelSize.ThrowIfNotPositive(original, nameof(original));
        PixelSize.ThrowIfNotPositive(target, nameof(target));
        var (originalWidth, originalHeight) = (original.Width, original.Height);
        var (targetWidth, targetHeight) = (target.Width, target.Height);
        var scaleW = (double)targetWidth / originalWidth;
        var scaleH = (double)targetHeight / originalHeight;

        int newWidth, newHeight;
        if (scaleW < scaleH)
        {
            newWidth = targetWidth;
            newHeight = (int)Math.Min(Math.Ceiling(originalHeight * scaleW), targetHeight);
        }
        else
        {
            newHeight = targetHeight;
            newWidth = (int)Math.Min(Math.Ceiling(originalWidth * scaleH), targetWidth);
        }

        var pasteX = (targetWidth - newWidth) / 2;
        var pasteY = (targetHeight - newHeight) / 2;
        return new ResizeAndPadGeometry(original, target, new PixelSize(newWidth, newHeight), new PixelOffset(pasteX, pasteY));
    }

    /// <summary>
    /// Ports <c>divide_to_patches(image, patch_size)</c>: boxes (j, i, j + P, i + P) for i over rows and j over columns in
    /// steps of P, row-major. Edge boxes may extend past the image when its sides are not multiples of P.
    /// </summary>
    /// <param name="image">The (padded) image size.</param>
    /// <param name="patchSize">The tile side P.</param>
    /// <returns>The boxes, row-major.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static IReadOnlyList<PixelBox> DivideToPatches(PixelSize image, int patchSize)
    {
        PixelSize.ThrowIfNotPositive(image, nameof(image));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        var patches = new List<PixelBox>();
        for (var i = 0; i < image.Height; i += patchSize)
        {
            for (var j = 0; j < image.Width; j += patchSize)
            {
                patches.Add(new PixelBox(j, i, j + patchSize, i + patchSize));
            }
        }

        return patches;
    }

    /// <summary>
    /// Ports <c>get_anyres_image_grid_shape(image_size, grid_pinpoints, patch_size)</c>: the selected pinpoint divided by
    /// the tile side, as (columns, rows).
    /// </summary>
    /// <param name="imageSize">The original image size.</param>
    /// <param name="gridPinpoints">The candidate resolutions (width, height).</param>
    /// <param name="patchSize">The tile side (the vision tower's image size).</param>
    /// <returns>The grid (columns = width // P, rows = height // P).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="gridPinpoints"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="gridPinpoints"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static GridShape GetAnyResImageGridShape(PixelSize imageSize, IReadOnlyList<PixelSize> gridPinpoints, int patchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        var best = SelectBestResolution(imageSize, gridPinpoints);
        return new GridShape(best.Width / patchSize, best.Height / patchSize);
    }

    /// <summary>
    /// Counts LongVA's UniRes tokens (<c>llava_arch.py</c>, <c>mm_patch_merge_type == "unires"</c>): with more than one view,
    /// the base view is dropped and each of the grid's tiles yields <see cref="PooledTokensPerTile"/>; a single view keeps
    /// its unpooled <see cref="TokensPerView"/>.
    /// </summary>
    /// <param name="viewCount">The number of views (base + tiles).</param>
    /// <param name="grid">The grid from <see cref="GetAnyResImageGridShape"/>.</param>
    /// <returns>The number of visual tokens of the image.</returns>
    public int UniResTokenCount(int viewCount, GridShape grid) =>
        viewCount > 1 ? grid.Rows * grid.Columns * PooledTokensPerTile : TokensPerView;

    private static PixelSize[] CreateLongVaPinpoints()
    {
        var list = new List<PixelSize>();
        for (var i = 1; i <= 49; i++)
        {
            for (var j = 1; i * j <= 49; j++)
            {
                if (i != 1 || j != 1)
                {
                    list.Add(new PixelSize(336 * i, 336 * j));
                }
            }
        }

        return [.. list];
    }
}

/// <summary>The geometry of <c>resize_and_pad_image</c>.</summary>
/// <param name="Input">The image size.</param>
/// <param name="Target">The canvas size (the selected pinpoint).</param>
/// <param name="ResizeSize">The size the image is resized to (PIL default filter, bicubic).</param>
/// <param name="PasteOffset">Where the resized image is pasted on the black canvas.</param>
public sealed record ResizeAndPadGeometry(PixelSize Input, PixelSize Target, PixelSize ResizeSize, PixelOffset PasteOffset);

/// <summary>The views <see cref="AnyResGeometry"/> produces for one image.</summary>
/// <remarks>
/// Views in processing order: first the base view (<c>image.resize((BaseSize, BaseSize))</c>, aspect not kept), then each
/// tile of <see cref="Tiles"/> cut from the padded canvas of <see cref="ResizeAndPad"/>. Each view then goes through the
/// CLIP processor, which is the identity for a 336 × 336 view.
/// </remarks>
/// <param name="Original">The image size.</param>
/// <param name="BestResolution">The selected pinpoint (width, height).</param>
/// <param name="ResizeAndPad">The resize and paste onto the pinpoint canvas.</param>
/// <param name="Grid">The tile grid (<c>get_anyres_image_grid_shape</c>).</param>
/// <param name="BaseViewSize">The base view size.</param>
/// <param name="Tiles">The tiles, row-major, cut from the padded canvas.</param>
/// <param name="TokenCount">The UniRes token count of the image (base view dropped, tiles pooled).</param>
public sealed record AnyResLayout(
    PixelSize Original,
    PixelSize BestResolution,
    ResizeAndPadGeometry ResizeAndPad,
    GridShape Grid,
    PixelSize BaseViewSize,
    IReadOnlyList<GridTile> Tiles,
    int TokenCount)
{
    /// <summary>Gets the number of views (the base view plus the tiles).</summary>
    public int ViewCount => 1 + Tiles.Count;

    /// <summary>Gets the views in processing order: the base view (the original squashed to <see cref="BaseViewSize"/>), then the tiles row-major (boxes on the padded canvas).</summary>
    public IReadOnlyList<SplitView> Views =>
        [new SplitView(ImageViewKind.Global, 0, 0, null, BaseViewSize), .. Tiles.Select(t => new SplitView(ImageViewKind.Tile, t.Row, t.Column, t.Box, t.Box.Size))];
}
