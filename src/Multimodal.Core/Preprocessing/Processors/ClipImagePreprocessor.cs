// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>
/// Hugging Face's (slow, PIL-based) <c>CLIPImageProcessor</c> as a splitter and processor: convert to RGB, resize with
/// PIL bicubic so the shortest edge is <see cref="ClipImageGeometry.ShortestEdge"/>, centre-crop
/// <see cref="ClipImageGeometry.CropSize"/>², rescale by 1/255 in float64, and normalise with the mean and standard
/// deviation in float32.
/// </summary>
/// <remarks>
/// <para>This is the whole image pipeline of AuroraCap (378), the LLaVA-Lightning-MPT preview (224, see
/// <see cref="LlavaImagePreprocessor.LlavaMptPreview"/>) and LongVA's video frames (336), and the last step of LLaVA-1.5
/// and LongVA's anyres views. See FAMILIES.md §0.2.</para>
/// <para><see cref="Split"/> returns one global view that has already been resized and cropped; <see cref="Process"/>
/// applies the resize and crop to any other view and then normalises, so it also takes raw video frames. When the
/// shortest edge equals the crop size (every family here) the steps are identities on a crop-sized view; otherwise the
/// preprocessor remembers, weakly, the views it produced so that they are not resized a second time.</para>
/// <para>Thread-safety: instances are thread-safe and may be shared.</para>
/// </remarks>
public sealed class ClipImagePreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    private static readonly object Produced = new();

    private readonly NormalizingImageProcessor _normalizer;

    /// <summary>The views <see cref="Transform"/> made, when a second resize and crop would change them (shortest edge ≠ crop); otherwise <see langword="null"/>.</summary>
    private readonly ConditionalWeakTable<ImageFrame, object>? _produced;

    /// <summary>Initializes a CLIP preprocessor.</summary>
    /// <param name="geometry">The resize and crop sizes.</param>
    /// <param name="imageMean">The processor's <c>image_mean</c> (RGB); defaults to <see cref="ClipImageGeometry.OpenAiClipMean"/>.</param>
    /// <param name="imageStd">The processor's <c>image_std</c> (RGB); defaults to <see cref="ClipImageGeometry.OpenAiClipStd"/>.</param>
    /// <param name="tokensPerView">The visual tokens one view yields; defaults to <see cref="ClipImageGeometry.TokensPerView"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="geometry"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="imageMean"/> or <paramref name="imageStd"/> does not have three values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A standard deviation is not positive, or <paramref name="tokensPerView"/> is negative.</exception>
    public ClipImagePreprocessor(ClipImageGeometry geometry, IReadOnlyList<double>? imageMean = null, IReadOnlyList<double>? imageStd = null, int? tokensPerView = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        Geometry = geometry;
        if (imageMean is null && imageStd is null)
        {
            _normalizer = FamilyPixels.ClipHuggingFace;
        }
        else
        {
            var mean = FamilyPixels.ToSingle(imageMean ?? ClipImageGeometry.OpenAiClipMean, nameof(imageMean));
            var std = FamilyPixels.ToSingle(imageStd ?? ClipImageGeometry.OpenAiClipStd, nameof(imageStd));
            _normalizer = new NormalizingImageProcessor(mean, std, RescaleMode.HuggingFace);
        }

        if (tokensPerView is { } tokens)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(tokens, nameof(tokensPerView));
        }

        TokensPerView = tokensPerView ?? geometry.TokensPerView;
        _produced = geometry.ShortestEdge == geometry.CropSize ? null : new ConditionalWeakTable<ImageFrame, object>();
    }

    /// <summary>Gets AuroraCap's processor: <c>CLIPImageProcessor(size=378, crop_size=378)</c>, 729 patches per view before token merging.</summary>
    public static ClipImagePreprocessor AuroraCap { get; } = new(ClipImageGeometry.AuroraCap);

    /// <summary>Creates AuroraCap's processor with the token count after ToMe merging at a kept ratio.</summary>
    /// <param name="tokenKeptRatio">AuroraCap's <c>token_kept_ratio</c> in [0, 1] (0.8 in <c>inference.py</c>).</param>
    /// <returns>A 378 CLIP preprocessor whose views count <see cref="VisualTokenCounts.AuroraCapAfterMerging"/> tokens.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenKeptRatio"/> is outside [0, 1].</exception>
    public static ClipImagePreprocessor CreateAuroraCap(double tokenKeptRatio) =>
        new(ClipImageGeometry.AuroraCap, tokensPerView: VisualTokenCounts.AuroraCapAfterMerging(tokenKeptRatio));

    /// <summary>Gets LongVA's video-frame processor: CLIP-336 per frame, 144 tokens per frame after LongVA's 2×2 pooling.</summary>
    public static ClipImagePreprocessor LongVaFrame { get; } = new(ClipImageGeometry.LongVaFrame, tokensPerView: VisualTokenCounts.LongVaPerFrame);

    /// <summary>Gets the resize and crop sizes.</summary>
    public ClipImageGeometry Geometry { get; }

    /// <summary>Gets the per-channel mean (float32, RGB).</summary>
    public IReadOnlyList<float> ImageMean => _normalizer.Mean;

    /// <summary>Gets the per-channel standard deviation (float32, RGB).</summary>
    public IReadOnlyList<float> ImageStd => _normalizer.Std;

    /// <summary>Gets the visual tokens one view yields.</summary>
    public int TokensPerView { get; }

    /// <summary>Converts an image to RGB and applies the resize and centre crop, without normalising.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The crop-sized RGB view; <paramref name="image"/> itself when it is a view this method returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public ImageFrame Transform(ImageFrame image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (_produced is null)
        {
            // shortest_edge == crop: a crop-sized RGB image comes back unchanged, so no bookkeeping is needed.
            return FamilyPixels.ClipResizeAndCrop(ImageOperations.ToRgb(image), Geometry);
        }

        if (_produced.TryGetValue(image, out _))
        {
            return image;
        }

        var view = FamilyPixels.ClipResizeAndCrop(ImageOperations.ToRgb(image), Geometry);
        _produced.AddOrUpdate(view, Produced);
        return view;
    }

    /// <inheritdoc />
    /// <remarks>No options are read; the result is one global view, already resized and cropped.</remarks>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) => ImageSplit.Single(Transform(image));

    /// <inheritdoc />
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var pixels = Transform(view.Image);
        return _normalizer.Process(ReferenceEquals(pixels, view.Image) ? view : view with { Image = pixels });
    }

    /// <inheritdoc />
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image)
    {
        ArgumentNullException.ThrowIfNull(split);
        return FamilyPixels.Repeat(split.Views.Count, TokensPerView);
    }

    /// <summary>Splits, processes and counts one image.</summary>
    /// <param name="image">The image.</param>
    /// <param name="options">Ignored.</param>
    /// <returns>The one view, its tensor <c>[3, crop, crop]</c> and its token count.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    public PreprocessedImage Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null) =>
        PreprocessedImage.Create(this, image, options);
}
