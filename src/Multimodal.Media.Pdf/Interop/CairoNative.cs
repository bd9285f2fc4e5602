// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>The cairo functions this assembly calls (cairo.h).</summary>
internal static unsafe partial class CairoNative
{
    /// <summary>CAIRO_FORMAT_RGB24: 32 bits per pixel, native-endian xRGB (B, G, R, x bytes on little-endian machines).</summary>
    public const int FormatRgb24 = 1;

    /// <summary>CAIRO_STATUS_SUCCESS.</summary>
    public const int StatusSuccess = 0;

    private const string Library = PdfNativeLibraries.CairoName;

    static CairoNative() => PdfNativeLibraries.RegisterResolver();

    // cairo_surface_t *cairo_image_surface_create(cairo_format_t format, int width, int height);  (never NULL; check the status)
    [LibraryImport(Library, EntryPoint = "cairo_image_surface_create")]
    public static partial SafeCairoSurfaceHandle ImageSurfaceCreate(int format, int width, int height);

    // cairo_status_t cairo_surface_status(cairo_surface_t *surface);
    [LibraryImport(Library, EntryPoint = "cairo_surface_status")]
    public static partial int SurfaceStatus(SafeCairoSurfaceHandle surface);

    // void cairo_surface_flush(cairo_surface_t *surface);
    [LibraryImport(Library, EntryPoint = "cairo_surface_flush")]
    public static partial void SurfaceFlush(SafeCairoSurfaceHandle surface);

    // unsigned char *cairo_image_surface_get_data(cairo_surface_t *surface);
    [LibraryImport(Library, EntryPoint = "cairo_image_surface_get_data")]
    public static partial byte* ImageSurfaceGetData(SafeCairoSurfaceHandle surface);

    // int cairo_image_surface_get_stride(cairo_surface_t *surface);
    [LibraryImport(Library, EntryPoint = "cairo_image_surface_get_stride")]
    public static partial int ImageSurfaceGetStride(SafeCairoSurfaceHandle surface);

    /// <summary>Destroys a surface reference.</summary>
    /// <param name="surface">The surface.</param>
    // void cairo_surface_destroy(cairo_surface_t *surface);
    [LibraryImport(Library, EntryPoint = "cairo_surface_destroy")]
    public static partial void SurfaceDestroy(IntPtr surface);

    // cairo_t *cairo_create(cairo_surface_t *target);  (never NULL; check the status)
    [LibraryImport(Library, EntryPoint = "cairo_create")]
    public static partial SafeCairoHandle Create(SafeCairoSurfaceHandle target);

    /// <summary>Destroys a context reference.</summary>
    /// <param name="cr">The context.</param>
    // void cairo_destroy(cairo_t *cr);
    [LibraryImport(Library, EntryPoint = "cairo_destroy")]
    public static partial void Destroy(IntPtr cr);

    // cairo_status_t cairo_status(cairo_t *cr);
    [LibraryImport(Library, EntryPoint = "cairo_status")]
    public static partial int Status(SafeCairoHandle cr);

    // const char *cairo_status_to_string(cairo_status_t status);
    [LibraryImport(Library, EntryPoint = "cairo_status_to_string")]
    public static partial byte* StatusToString(int status);

    // void cairo_set_source_rgb(cairo_t *cr, double red, double green, double blue);
    [LibraryImport(Library, EntryPoint = "cairo_set_source_rgb")]
    public static partial void SetSourceRgb(SafeCairoHandle cr, double red, double green, double blue);

    // void cairo_paint(cairo_t *cr);
    [LibraryImport(Library, EntryPoint = "cairo_paint")]
    public static partial void Paint(SafeCairoHandle cr);

    // void cairo_scale(cairo_t *cr, double sx, double sy);
    [LibraryImport(Library, EntryPoint = "cairo_scale")]
    public static partial void Scale(SafeCairoHandle cr, double sx, double sy);

    /// <summary>Describes a cairo status code.</summary>
    /// <param name="status">The status.</param>
    /// <returns>cairo's text for it, for example <c>out of memory</c>.</returns>
    public static string Describe(int status) => Marshal.PtrToStringUTF8((IntPtr)StatusToString(status)) ?? $"cairo status {status}";
}
