// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Pdf;

/// <summary>Options for <see cref="PdfRasterizer"/>.</summary>
/// <remarks>The rasteriser copies the values when it is created; later changes to this instance do not affect it.</remarks>
public sealed class PdfRasterizerOptions
{
    private int _maxDegreeOfParallelism = DefaultMaxDegreeOfParallelism;
    private long _maxPixels = PdfRenderOptions.DefaultMaxPixels;

    /// <summary>Gets the default degree of parallelism: the number of processors, at most 4.</summary>
    public static int DefaultMaxDegreeOfParallelism => Math.Min(Environment.ProcessorCount, 4);

    /// <summary>Gets or sets how many pages render at the same time, each worker with its own poppler document over the shared bytes.</summary>
    /// <value>The default is <see cref="DefaultMaxDegreeOfParallelism"/>. At most this many pages are in flight or waiting to be consumed, so memory stays bounded for long documents.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>Gets or sets whether each <see cref="RenderedPage"/> carries the page's text layer in <see cref="RenderedPage.Text"/>.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool IncludeText { get; set; }

    /// <summary>Gets or sets the largest number of pixels one rendered page may have.</summary>
    /// <value>The default is <see cref="PdfRenderOptions.DefaultMaxPixels"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long MaxPixels
    {
        get => _maxPixels;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxPixels = value;
        }
    }

    /// <summary>Copies the options.</summary>
    /// <returns>A copy.</returns>
    internal PdfRasterizerOptions Clone() => new()
    {
        MaxDegreeOfParallelism = MaxDegreeOfParallelism,
        IncludeText = IncludeText,
        MaxPixels = MaxPixels,
    };
}
