// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>
/// LLaVA's <c>process_images</c> (haotian-liu/LLaVA <c>llava/mm_utils.py</c>) for the single-view checkpoints: convert to
/// RGB, optionally <c>expand2square</c> with the mean colour (<c>image_aspect_ratio == "pad"</c>), then the CLIP
/// processor (bicubic shortest-edge resize, centre crop, HF rescale, CLIP mean/std).
/// </summary>
/// <remarks>
/// <para>LLaVA-1.5 pads to a square of (122, 116, 104) and runs CLIP-336 (576 tokens); the LLaVA-Lightning-MPT preview
/// runs CLIP-224 on the raw image, losing the edges to the centre crop (256 tokens). See FAMILIES.md §B.1.</para>
/// <para><see cref="Process"/> runs the same steps on any view (identities for a view <see cref="Split"/> produced), so
/// it also takes images that bypassed the splitter.</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public sealed class LlavaImagePreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    private readonly ClipImagePreprocessor _clip;

    /// <summary>Initializes the preprocessor.</summary>
    /// <param name="geometry">The padding and CLIP geometry.</param>
    /// <exception cref="ArgumentNullException"><paramref name="geometry"/> is <see langword="null"/>.</exception>
    public LlavaImagePreprocessor(LlavaImageGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        Geometry = geometry;
        _clip = new ClipImagePreprocessor(geometry.Processor);
    }

    /// <summary>Gets LLaVA-1.5: <c>expand2square</c> with (122, 116, 104), then CLIP-336.</summary>
    public static LlavaImagePreprocessor Llava15 { get; } = new(LlavaImageGeometry.Llava15);

    /// <summary>Gets the LLaVA-Lightning-MPT-7B preview: CLIP-224 on the raw image.</summary>
    public static LlavaImagePreprocessor LlavaMptPreview { get; } = new(LlavaImageGeometry.LlavaMptPreview);

    /// <summary>Gets the padding and CLIP geometry.</summary>
    public LlavaImageGeometry Geometry { get; }

    /// <summary>Converts to RGB, pads to a square when configured, and applies the CLIP resize and crop, without normalising.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The crop-sized RGB view.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public ImageFrame Transform(ImageFrame image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = ImageOperations.ToRgb(image);
        if (Geometry.PadToSquare && rgb.Width != rgb.Height)
        {
            var (r, g, b) = Geometry.FillColor;
            rgb = ImageOperations.ExpandToSquare(rgb, r, g, b);
        }

        return _clip.Transform(rgb);
    }

    /// <inheritdoc />
    /// <remarks>No options are read; the result is one global view, already padded, resized and cropped.</remarks>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) => ImageSplit.Single(Transform(image));

    /// <inheritdoc />
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var pixels = Transform(view.Image);
        return _clip.Process(ReferenceEquals(pixels, view.Image) ? view : view with { Image = pixels });
    }

    /// <inheritdoc />
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image)
    {
        ArgumentNullException.ThrowIfNull(split);
        return FamilyPixels.Repeat(split.Views.Count, Geometry.TokenCount);
    }

    /// <summary>Splits, processes and counts one image.</summary>
    /// <param name="image">The image.</param>
    /// <param name="options">Ignored.</param>
    /// <returns>The one view, its tensor and its token count.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public PreprocessedImage Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) =>
        PreprocessedImage.Create(this, image, options);
}
