// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Pdf;

/// <summary>Output sizes of rendered pages, following PyMuPDF's pixmap rule.</summary>
internal static class PdfRenderGeometry
{
    /// <summary>cairo's largest image surface side.</summary>
    public const int MaxSide = 32767;

    /// <summary>Gets the pixels along one side for a side of <paramref name="points"/> at <paramref name="zoom"/>.</summary>
    /// <param name="points">The side in points.</param>
    /// <param name="zoom">The scale (1 = 72 dpi).</param>
    /// <returns>The number of pixels, at least 1.</returns>
    /// <remarks>
    /// PyMuPDF's <c>page.get_pixmap(matrix=Matrix(z, z))</c> sizes the pixmap as MuPDF's <c>fz_round_rect(page.rect * matrix)</c>:
    /// <c>ceil(x1 - 0.001) - floor(x0 + 0.001)</c> in single precision, with <c>x0 = 0</c>. An A4 page (595 × 842 pt) at
    /// zoom 2 is 1190 × 1684; 297.5 pt at zoom 1 is 298 pixels (partly covered edge pixels are kept).
    /// </remarks>
    public static int PixelExtent(double points, double zoom)
    {
        var extent = MathF.Ceiling(((float)points * (float)zoom) - 0.001f);
        return extent >= 1f ? (extent > int.MaxValue / 2 ? int.MaxValue / 2 : (int)extent) : 1;
    }

    /// <summary>Gets the zoom actually used for a page: the requested one, lowered when the longer side would exceed <paramref name="maxLongSide"/>.</summary>
    /// <param name="width">The page width in points.</param>
    /// <param name="height">The page height in points.</param>
    /// <param name="zoom">The requested zoom.</param>
    /// <param name="maxLongSide">The largest allowed longer side in pixels, or <see langword="null"/>.</param>
    /// <returns>The zoom to render at.</returns>
    public static double EffectiveZoom(double width, double height, double zoom, int? maxLongSide)
    {
        if (maxLongSide is not { } max)
        {
            return zoom;
        }

        var longSide = Math.Max(width, height);
        if (PixelExtent(longSide, zoom) <= max)
        {
            return zoom;
        }

        var z = max / longSide;
        // Single-precision rounding could push the ceiling one pixel over; step down until it fits.
        while (PixelExtent(longSide, z) > max)
        {
            z = Math.BitDecrement(z);
        }

        return z;
    }
}
