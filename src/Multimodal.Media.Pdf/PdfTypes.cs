// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Pdf;

/// <summary>The size of a PDF page in points (1/72 inch), with the page's rotation applied.</summary>
/// <param name="Width">The width in points (an A4 page is 595.28, or 595 as PyMuPDF writes it).</param>
/// <param name="Height">The height in points.</param>
public readonly record struct PdfPageSize(double Width, double Height)
{
    /// <summary>Gets the pixel size of this page rendered at <paramref name="zoom"/>, by PyMuPDF's rule for <c>page.get_pixmap(matrix=Matrix(zoom, zoom))</c>.</summary>
    /// <param name="zoom">The scale relative to 72 dpi (2 = 144 dpi).</param>
    /// <returns>The width and height in pixels: <c>ceil(side × zoom − 0.001)</c> each, so an A4 page at zoom 2 is 1190 × 1684.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="zoom"/> is not a positive finite number.</exception>
    public (int Width, int Height) GetPixelSize(double zoom)
    {
        PdfRenderOptions.ValidateZoom(zoom);
        return (PdfRenderGeometry.PixelExtent(Width, zoom), PdfRenderGeometry.PixelExtent(Height, zoom));
    }
}

/// <summary>A PDF document's information dictionary and basic facts.</summary>
/// <param name="Title">The title, or <see langword="null"/> when the document has none.</param>
/// <param name="Author">The author, or <see langword="null"/>.</param>
/// <param name="Subject">The subject, or <see langword="null"/>.</param>
/// <param name="Keywords">The keywords, or <see langword="null"/>.</param>
/// <param name="Creator">The application that created the original document, or <see langword="null"/>.</param>
/// <param name="Producer">The application that wrote the PDF, or <see langword="null"/>.</param>
/// <param name="PdfVersion">The PDF version from the header, for example <c>1.7</c>.</param>
/// <param name="PageCount">The number of pages.</param>
/// <param name="IsEncrypted">Whether the file is encrypted (it has an <c>/Encrypt</c> entry), whether or not a password was needed to open it.</param>
public sealed record PdfMetadata(
    string? Title,
    string? Author,
    string? Subject,
    string? Keywords,
    string? Creator,
    string? Producer,
    string PdfVersion,
    int PageCount,
    bool IsEncrypted);

/// <summary>How <see cref="PdfDocument.RenderPage"/> renders one page.</summary>
public sealed class PdfRenderOptions
{
    /// <summary>The default zoom: 2, i.e. 144 dpi, as in Aria's PDF recipe.</summary>
    public const double DefaultZoom = 2.0;

    /// <summary>The default pixel limit: 178,956,970 pixels (Pillow's <c>MAX_IMAGE_PIXELS</c> × 2).</summary>
    public const long DefaultMaxPixels = 178_956_970;

    private double _zoom = DefaultZoom;
    private int? _maxLongSide;
    private long _maxPixels = DefaultMaxPixels;

    /// <summary>Gets or sets the scale relative to 72 dpi.</summary>
    /// <value>The default is 2 (144 dpi). The output is <c>ceil(side × zoom − 0.001)</c> pixels per side, like PyMuPDF's pixmaps.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a positive finite number.</exception>
    public double Zoom
    {
        get => _zoom;
        set
        {
            ValidateZoom(value);
            _zoom = value;
        }
    }

    /// <summary>Gets or sets a maximum for the longer side of the output in pixels; the zoom is lowered for pages that would exceed it (never raised).</summary>
    /// <value>The default is <see langword="null"/>: no limit.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? MaxLongSide
    {
        get => _maxLongSide;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(v, nameof(value));
            }

            _maxLongSide = value;
        }
    }

    /// <summary>Gets or sets the largest number of pixels one rendered page may have; larger pages throw <see cref="InvalidMediaException"/> before any memory is allocated.</summary>
    /// <value>The default is <see cref="DefaultMaxPixels"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long MaxPixels
    {
        get => _maxPixels;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(value));
            _maxPixels = value;
        }
    }

    /// <summary>Throws when a zoom is not a positive finite number.</summary>
    /// <param name="zoom">The zoom.</param>
    internal static void ValidateZoom(double zoom)
    {
        if (!double.IsFinite(zoom) || zoom <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(zoom), zoom, "The zoom must be a positive finite number (1 = 72 dpi, 2 = 144 dpi).");
        }
    }
}
