// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>Tells how many visual tokens each view of a split feeds the language model, before anything is encoded.</summary>
/// <remarks>
/// Prompt templates and context-length checks use this to lay out placeholders; the counts follow
/// <see cref="VisualTokenCounts"/> and the family geometries. Implementations are stateless and thread-safe.
/// </remarks>
public interface IViewTokenCounter
{
    /// <summary>Returns the visual tokens of every view, in view order.</summary>
    /// <param name="split">The views, as the same preprocessor's <see cref="IImageSplitter.Split"/> produced them (for a video, one global view per frame).</param>
    /// <param name="kind">What the views are: the views of one image or PDF page, or the frames of a video (some families pool frames differently).</param>
    /// <returns>One count per view of <paramref name="split"/>; a view whose features the family drops counts 0.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="split"/> is <see langword="null"/>.</exception>
    IReadOnlyList<int> GetViewTokenCounts(ImageSplit split, VisualInputKind kind = VisualInputKind.Image);
}
