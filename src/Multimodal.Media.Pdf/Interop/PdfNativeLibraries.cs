// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>The native libraries this assembly uses, and the <c>DllImport</c> resolver that maps their logical names to the loaded files.</summary>
/// <remarks>poppler-glib is always loaded first, so that cairo, GLib and GObject resolve to the copies it links against.</remarks>
internal static class PdfNativeLibraries
{
    /// <summary>The logical name of libpoppler-glib in <c>LibraryImport</c>s.</summary>
    public const string PopplerName = "poppler-glib";

    /// <summary>The logical name of libcairo in <c>LibraryImport</c>s.</summary>
    public const string CairoName = "cairo";

    /// <summary>The logical name of libglib-2.0 in <c>LibraryImport</c>s.</summary>
    public const string GLibName = "glib-2.0";

    /// <summary>The logical name of libgobject-2.0 in <c>LibraryImport</c>s.</summary>
    public const string GObjectName = "gobject-2.0";

    /// <summary>The logical name of libgio-2.0 in <c>LibraryImport</c>s.</summary>
    public const string GioName = "gio-2.0";

    /// <summary>The oldest supported poppler: 0.82 added <c>poppler_document_new_from_bytes</c>.</summary>
    public static readonly Version MinimumPopplerVersion = new(0, 82);

    /// <summary>The oldest supported cairo (1.12), as <c>cairo_version()</c> encodes it.</summary>
    public const int MinimumCairoVersion = 11200;

    /// <summary>Describes libpoppler-glib: SONAME libpoppler-glib.so.8 from the Debian package libpoppler-glib8.</summary>
    public static readonly NativeLibrarySpec PopplerSpec = new()
    {
        LogicalName = PopplerName,
        Description = "poppler's GLib API, used to open and render PDF documents",
        SoNames = ["libpoppler-glib.so.8"],
        PlainNames = ["libpoppler-glib.so", "libpoppler-glib.8.dylib", "libpoppler-glib-8.dll"],
        AptPackage = "libpoppler-glib8",
        RequiredExports =
        [
            "poppler_get_version", "poppler_document_new_from_bytes", "poppler_document_new_from_stream", "poppler_document_get_n_pages", "poppler_document_get_page",
            "poppler_document_get_title", "poppler_document_get_author", "poppler_document_get_subject", "poppler_document_get_keywords",
            "poppler_document_get_creator", "poppler_document_get_producer", "poppler_document_get_pdf_version",
            "poppler_page_get_size", "poppler_page_render", "poppler_page_get_text",
        ],
        CheckVersion = CheckPopplerVersion,
    };

    /// <summary>Describes libcairo: SONAME libcairo.so.2 from the Debian package libcairo2.</summary>
    public static readonly NativeLibrarySpec CairoSpec = new()
    {
        LogicalName = CairoName,
        Description = "cairo, the 2D graphics library poppler renders pages with",
        SoNames = ["libcairo.so.2"],
        PlainNames = ["libcairo.so", "libcairo.2.dylib", "libcairo-2.dll"],
        AptPackage = "libcairo2",
        RequiredExports =
        [
            "cairo_version", "cairo_image_surface_create", "cairo_image_surface_get_data", "cairo_image_surface_get_stride",
            "cairo_surface_status", "cairo_surface_flush", "cairo_surface_destroy", "cairo_create", "cairo_destroy", "cairo_status",
            "cairo_status_to_string", "cairo_set_source_rgb", "cairo_paint", "cairo_scale",
        ],
        CheckVersion = CheckCairoVersion,
    };

    /// <summary>Describes libglib-2.0 (the copy poppler-glib links against).</summary>
    public static readonly NativeLibrarySpec GLibSpec = new()
    {
        LogicalName = GLibName,
        Description = "GLib, poppler-glib's base library (byte buffers, errors, memory)",
        SoNames = ["libglib-2.0.so.0"],
        PlainNames = ["libglib-2.0.so", "libglib-2.0.0.dylib", "libglib-2.0-0.dll"],
        AptPackage = "libglib2.0-0",
        RequiredExports = ["g_bytes_new", "g_bytes_unref", "g_bytes_get_size", "g_free", "g_error_free", "g_quark_to_string"],
    };

    /// <summary>Describes libgobject-2.0 (the copy poppler-glib links against).</summary>
    public static readonly NativeLibrarySpec GObjectSpec = new()
    {
        LogicalName = GObjectName,
        Description = "GObject, the object system poppler-glib's documents and pages live in",
        SoNames = ["libgobject-2.0.so.0"],
        PlainNames = ["libgobject-2.0.so", "libgobject-2.0.0.dylib", "libgobject-2.0-0.dll"],
        AptPackage = "libglib2.0-0",
        RequiredExports = ["g_object_unref"],
    };

    /// <summary>Describes libgio-2.0 (the copy poppler-glib links against).</summary>
    public static readonly NativeLibrarySpec GioSpec = new()
    {
        LogicalName = GioName,
        Description = "GIO, whose memory input streams carry password-protected documents to poppler",
        SoNames = ["libgio-2.0.so.0"],
        PlainNames = ["libgio-2.0.so", "libgio-2.0.0.dylib", "libgio-2.0-0.dll"],
        AptPackage = "libglib2.0-0",
        RequiredExports = ["g_memory_input_stream_new_from_bytes"],
    };

    static PdfNativeLibraries()
    {
        NativeLibraryLoader.SetDllImportResolver(typeof(PdfNativeLibraries).Assembly, Poppler, Cairo, GLib, GObject, Gio);
    }

    /// <summary>Gets the loader for poppler-glib.</summary>
    public static NativeLibraryLoader Poppler { get; } = new(PopplerSpec, PdfLibraryOptions.Shared);

    /// <summary>Gets the loader for cairo, which loads poppler-glib first.</summary>
    public static NativeLibraryLoader Cairo { get; } = new(CairoSpec, PdfLibraryOptions.Shared, Poppler);

    /// <summary>Gets the loader for GLib, which loads poppler-glib first.</summary>
    public static NativeLibraryLoader GLib { get; } = new(GLibSpec, PdfLibraryOptions.Shared, Poppler);

    /// <summary>Gets the loader for GObject, which loads poppler-glib first.</summary>
    public static NativeLibraryLoader GObject { get; } = new(GObjectSpec, PdfLibraryOptions.Shared, Poppler);

    /// <summary>Gets the loader for GIO, which loads poppler-glib first.</summary>
    public static NativeLibraryLoader Gio { get; } = new(GioSpec, PdfLibraryOptions.Shared, Poppler);

    /// <summary>Gets poppler's version string, once loaded (for example <c>22.12.0</c>).</summary>
    public static string? PopplerVersion { get; private set; }

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads all five libraries (poppler-glib first) so that a missing one surfaces as <see cref="NativeLibraryException"/> before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">A library cannot be loaded or is unsupported.</exception>
    public static void EnsureLoaded()
    {
        Poppler.GetHandle();
        Cairo.GetHandle();
        GLib.GetHandle();
        GObject.GetHandle();
        Gio.GetHandle();
    }

    private static unsafe string? CheckPopplerVersion(IntPtr handle)
    {
        // const char *poppler_get_version(void); called through the export so the check runs before the resolver hands out the handle.
        var getVersion = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "poppler_get_version");
        var text = Marshal.PtrToStringUTF8((IntPtr)getVersion()) ?? string.Empty;
        var parts = text.Split('.');
        if (parts.Length < 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return $"its version '{text}' cannot be read";
        }

        PopplerVersion = text;
        return new Version(major, minor) >= MinimumPopplerVersion ? null : $"its version is {text}, older than the required {MinimumPopplerVersion}";
    }

    private static unsafe string? CheckCairoVersion(IntPtr handle)
    {
        // int cairo_version(void): major * 10000 + minor * 100 + micro.
        var getVersion = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "cairo_version");
        var version = getVersion();
        return version >= MinimumCairoVersion
            ? null
            : $"its version is {version / 10000}.{version / 100 % 100}.{version % 100}, older than the required 1.12";
    }
}
