// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>One image after a family preprocessor: its views, their normalised pixel tensors and their token counts.</summary>
/// <param name="Split">The views in prompt order, with the grid layout.</param>
/// <param name="PixelValues">One <c>[3, height, width]</c> float tensor per view, in view order.</param>
/// <param name="ViewTokenCounts">The visual tokens of each view (<see cref="IViewTokenCounter.GetViewTokenCounts"/>).</param>
public sealed record PreprocessedImage(ImageSplit Split, IReadOnlyList<DenseTensor<float>> PixelValues, IReadOnlyList<int> ViewTokenCounts)
{
    /// <summary>Gets the total number of visual tokens of the image.</summary>
    public int TokenCount => ViewTokenCounts.Sum();

    /// <summary>Splits, processes and counts one image with a family preprocessor.</summary>
    /// <typeparam name="TPreprocessor">A type that splits, processes and counts.</typeparam>
    /// <param name="preprocessor">The family preprocessor.</param>
    /// <param name="image">The image.</param>
    /// <param name="options">The per-request options.</param>
    /// <returns>The preprocessed image.</returns>
    internal static PreprocessedImage Create<TPreprocessor>(TPreprocessor preprocessor, ImageFrame image, IReadOnlyDictionary<string, object?>? options)
        where TPreprocessor : IImageSplitter, IImageProcessor, IViewTokenCounter
    {
        ArgumentNullException.ThrowIfNull(image);
        var split = preprocessor.Split(image, options);
        var tensors = new DenseTensor<float>[split.Views.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = preprocessor.Process(split.Views[i]);
        }

        return new PreprocessedImage(split, tensors, preprocessor.GetViewTokenCounts(split));
    }
}
