// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Multimodal.Preprocessing;

namespace Multimodal.Models.Aria;

/// <summary>Aria's splitter and processor: <see cref="AriaImagePreprocessor"/> with seed 000's PDF recipe, which tiles
/// every PDF page (<c>split_image</c> on) unless the request says otherwise.</summary>
/// <remarks>
/// <para><see cref="Split"/> reads <see cref="ImageSplitOptionKeys.MediaKind"/>, which the pipeline sets: for a
/// <see cref="VisualInputKind.PdfPage"/> with no explicit <see cref="ImageSplitOptionKeys.SplitImage"/> in the
/// options, the page is split (the whole page first, then <c>max_image_size</c> tiles) when
/// <see cref="SplitPdfPages"/> is on. Photos keep the preprocessor's default (off, as everywhere in the reference).
/// An explicit <c>split_image</c> in the request (<see cref="GenerationOptions.AdditionalProperties"/>) always wins,
/// for photos and pages alike.</para>
/// <para><see cref="Process"/> delegates to the preprocessor, which recognises the views its own
/// <see cref="Split"/> produced (and knows their resize, hence their mask); the views are passed on untouched so
/// that this keeps working. Each processed view is remembered, weakly, against the tensor <see cref="Process"/>
/// returned, so that <see cref="AriaFamily.AttachPixelMasksAsync"/> can hand the view's <c>pixel_mask</c>
/// (<see cref="GetPixelMask"/>) to the vision encoder.</para>
/// <para>Thread-safety: instances are thread-safe and may be shared.</para>
/// </remarks>
public sealed class AriaImageSplitter : IImageSplitter, IImageProcessor, IViewTokenCounter
{
    private readonly ConditionalWeakTable<DenseTensor<float>, ImageView> _processed = new();

    /// <summary>Initializes the splitter.</summary>
    /// <param name="preprocessor">The image preprocessor; <see langword="null"/> for <see cref="AriaImagePreprocessor.Aria"/> (980, no split).</param>
    /// <param name="splitPdfPages">Whether PDF pages are split when the request does not set <c>split_image</c>.</param>
    public AriaImageSplitter(AriaImagePreprocessor? preprocessor = null, bool splitPdfPages = true)
    {
        Preprocessor = preprocessor ?? AriaImagePreprocessor.Aria;
        SplitPdfPages = splitPdfPages;
    }

    /// <summary>Gets the preprocessor views are split and processed with.</summary>
    public AriaImagePreprocessor Preprocessor { get; }

    /// <summary>Gets whether PDF pages are split when the request does not set <c>split_image</c>.</summary>
    /// <value>The default is <see langword="true"/> (seed 000's PDF recipe).</value>
    public bool SplitPdfPages { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option has the wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><c>max_image_size</c> is not one of the preprocessor's <see cref="AriaImagePreprocessor.SupportedImageSizes"/>.</exception>
    public ImageSplit Split(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Preprocessor.Split(image, EffectiveOptions(options));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="view"/> is <see langword="null"/>.</exception>
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var tensor = Preprocessor.Process(view);

        // The view, not its mask, is kept: the mask is only built when an encoder asks for it.
        _processed.AddOrUpdate(tensor, view);
        return tensor;
    }

    /// <summary>Returns a view's <c>pixel_mask</c>: true on the resized image, false on the right and bottom padding.</summary>
    /// <param name="view">A view from <see cref="Split"/>, or any view <see cref="Process"/> accepts.</param>
    /// <returns>A <c>[max_image_size, max_image_size]</c> mask, row-major.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="view"/> is <see langword="null"/>.</exception>
    public DenseTensor<bool> GetPixelMask(ImageView view) => Preprocessor.GetPixelMask(view);

    /// <inheritdoc />
    public IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image) =>
        Preprocessor.GetViewTokenCounts(split, kind);

    /// <summary>Finds the pixel mask of a tensor <see cref="Process"/> returned.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="mask">The mask of the view it was made from.</param>
    /// <returns>Whether this splitter made the tensor.</returns>
    internal bool TryGetPixelMask(DenseTensor<float> tensor, [NotNullWhen(true)] out DenseTensor<bool>? mask)
    {
        mask = _processed.TryGetValue(tensor, out var view) ? Preprocessor.GetPixelMask(view) : null;
        return mask is not null;
    }

    /// <summary>The options the preprocessor sees: <c>split_image = true</c> added for a PDF page when the request left it unset.</summary>
    private IReadOnlyDictionary<string, object?>? EffectiveOptions(IReadOnlyDictionary<string, object?>? options)
    {
        if (!SplitPdfPages || options is null || IsSet(options, ImageSplitOptionKeys.SplitImage) || !IsPdfPage(options))
        {
            return options;
        }

        return new Dictionary<string, object?>(options, StringComparer.Ordinal) { [ImageSplitOptionKeys.SplitImage] = true };
    }

    /// <summary>Whether a key holds a value (absent, <see langword="null"/> and JSON null mean "use the default", as for the preprocessor).</summary>
    private static bool IsSet(IReadOnlyDictionary<string, object?> options, string key) =>
        options.TryGetValue(key, out var value) && value is not null and not JsonElement { ValueKind: JsonValueKind.Null };

    /// <summary>Whether <see cref="ImageSplitOptionKeys.MediaKind"/> says the image is a PDF page (the enum the pipeline sets, or its name).</summary>
    private static bool IsPdfPage(IReadOnlyDictionary<string, object?> options) =>
        options.TryGetValue(ImageSplitOptionKeys.MediaKind, out var value) && value switch
        {
            VisualInputKind kind => kind == VisualInputKind.PdfPage,
            string name => string.Equals(name, nameof(VisualInputKind.PdfPage), StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
}
