// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>What is needed to find, check and explain one native library.</summary>
/// <param name="LogicalName">The name the <c>LibraryImport</c>s use (for example <c>poppler-glib</c>).</param>
/// <param name="Description">What the library is and what it is for, for error messages.</param>
/// <param name="SoNames">File names handed to the system loader, most specific first (for example <c>libpoppler-glib.so.8</c>).</param>
/// <param name="PlainNames">Unversioned file names probed last.</param>
/// <param name="AptPackage">The Debian/Ubuntu package that provides the library.</param>
/// <param name="RequiredExports">Symbols that must all be present.</param>
/// <param name="ExplicitPath">Reads the explicit path for this library from the options, or <see langword="null"/> when it has none.</param>
/// <param name="CheckVersion">Given the loaded library, returns <see langword="null"/> when its version is supported, otherwise the reason.</param>
internal sealed record PdfNativeLibrarySpec(
    string LogicalName,
    string Description,
    string[] SoNames,
    string[] PlainNames,
    string AptPackage,
    string[] RequiredExports,
    Func<PdfLibraryOptions, string?>? ExplicitPath,
    Func<IntPtr, string?>? CheckVersion);

/// <summary>Loads one native library on first use, following <see cref="PdfLibraryOptions"/>, and checks it.</summary>
/// <remarks>Thread-safe. A successful load is cached for the life of the process (native libraries are never unloaded) and freezes the options; a failure is not cached, so a later call probes again.</remarks>
internal sealed class PdfNativeLibrary
{
    private readonly PdfNativeLibrarySpec _spec;
    private readonly PdfLibraryOptions _options;
    private readonly Lock _lock = new();
    private IntPtr _handle;

    /// <summary>Initializes a loader for one library.</summary>
    /// <param name="spec">The library's names, package and checks.</param>
    /// <param name="options">Where to look first.</param>
    public PdfNativeLibrary(PdfNativeLibrarySpec spec, PdfLibraryOptions options)
    {
        _spec = spec;
        _options = options;
    }

    /// <summary>Gets the file the library was loaded from, once loaded.</summary>
    public string? LoadedFrom { get; private set; }

    /// <summary>Returns the library's handle, loading and checking it on the first call.</summary>
    /// <returns>The OS handle of the loaded library.</returns>
    /// <exception cref="NativeLibraryException">The library cannot be found or loaded, lacks a required function, or is too old.</exception>
    public IntPtr GetHandle()
    {
        var handle = Volatile.Read(ref _handle);
        if (handle != IntPtr.Zero)
        {
            return handle;
        }

        lock (_lock)
        {
            if (_handle == IntPtr.Zero)
            {
                var loaded = Load();
                _options.Freeze();
                Volatile.Write(ref _handle, loaded);
            }

            return _handle;
        }
    }

    private IntPtr Load()
    {
        var tried = new List<string>();
        var failures = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            IntPtr handle;
            try
            {
                // Every candidate goes to the system loader as it is (dlopen/LoadLibrary), never through the
                // assembly-aware overload, which could re-enter this assembly's DllImport resolver.
                if (!NativeLibrary.TryLoad(candidate, out handle))
                {
                    continue;
                }
            }
            catch (BadImageFormatException ex)
            {
                failures.Add($"{candidate}: {ex.Message}");
                continue;
            }

            var problem = Check(handle);
            if (problem is null)
            {
                LoadedFrom = candidate;
                return handle;
            }

            NativeLibrary.Free(handle);
            throw new NativeLibraryException(
                $"The native library '{_spec.LogicalName}' ({_spec.Description}) was found at '{candidate}' but cannot be used: {problem}. " +
                $"Install a supported version (Debian/Ubuntu: apt-get install {_spec.AptPackage}) or point PdfLibraryOptions.Shared at one.",
                _spec.LogicalName,
                tried);
        }

        var detail = failures.Count == 0 ? string.Empty : " Load errors: " + string.Join("; ", failures) + ".";
        throw new NativeLibraryException(
            $"The native library '{_spec.LogicalName}' ({_spec.Description}) could not be loaded. Tried: {string.Join(", ", tried)}.{detail} " +
            $"Install it (Debian/Ubuntu: apt-get install {_spec.AptPackage}) or set its path on PdfLibraryOptions.Shared before the first PDF is opened.",
            _spec.LogicalName,
            tried);
    }

    private IEnumerable<string> Candidates()
    {
        var explicitPath = _spec.ExplicitPath?.Invoke(_options);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            yield return explicitPath;
        }

        foreach (var directory in _options.SearchDirectories)
        {
            foreach (var soName in _spec.SoNames)
            {
                yield return Path.Combine(directory, soName);
            }
        }

        foreach (var name in _spec.SoNames.Concat(_spec.PlainNames))
        {
            yield return name;
        }
    }

    private string? Check(IntPtr handle)
    {
        var missing = _spec.RequiredExports.Where(e => !NativeLibrary.TryGetExport(handle, e, out _)).ToArray();
        if (missing.Length > 0)
        {
            return $"it does not export {string.Join(", ", missing)}";
        }

        return _spec.CheckVersion?.Invoke(handle);
    }
}

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
    public static readonly PdfNativeLibrarySpec PopplerSpec = new(
        PopplerName,
        "poppler's GLib API, used to open and render PDF documents",
        ["libpoppler-glib.so.8"],
        ["libpoppler-glib.so", "libpoppler-glib.8.dylib", "libpoppler-glib-8.dll"],
        "libpoppler-glib8",
        [
            "poppler_get_version", "poppler_document_new_from_bytes", "poppler_document_new_from_stream", "poppler_document_get_n_pages", "poppler_document_get_page",
            "poppler_document_get_title", "poppler_document_get_author", "poppler_document_get_subject", "poppler_document_get_keywords",
            "poppler_document_get_creator", "poppler_document_get_producer", "poppler_document_get_pdf_version",
            "poppler_page_get_size", "poppler_page_render", "poppler_page_get_text",
        ],
        o => o.PopplerGlibPath,
        CheckPopplerVersion);

    /// <summary>Describes libcairo: SONAME libcairo.so.2 from the Debian package libcairo2.</summary>
    public static readonly PdfNativeLibrarySpec CairoSpec = new(
        CairoName,
        "cairo, the 2D graphics library poppler renders pages with",
        ["libcairo.so.2"],
        ["libcairo.so", "libcairo.2.dylib", "libcairo-2.dll"],
        "libcairo2",
        [
            "cairo_version", "cairo_image_surface_create", "cairo_image_surface_get_data", "cairo_image_surface_get_stride",
            "cairo_surface_status", "cairo_surface_flush", "cairo_surface_destroy", "cairo_create", "cairo_destroy", "cairo_status",
            "cairo_status_to_string", "cairo_set_source_rgb", "cairo_paint", "cairo_scale",
        ],
        o => o.CairoPath,
        CheckCairoVersion);

    /// <summary>Describes libglib-2.0 (the copy poppler-glib links against).</summary>
    public static readonly PdfNativeLibrarySpec GLibSpec = new(
        GLibName,
        "GLib, poppler-glib's base library (byte buffers, errors, memory)",
        ["libglib-2.0.so.0"],
        ["libglib-2.0.so", "libglib-2.0.0.dylib", "libglib-2.0-0.dll"],
        "libglib2.0-0",
        ["g_bytes_new", "g_bytes_unref", "g_bytes_get_size", "g_free", "g_error_free", "g_quark_to_string"],
        null,
        null);

    /// <summary>Describes libgobject-2.0 (the copy poppler-glib links against).</summary>
    public static readonly PdfNativeLibrarySpec GObjectSpec = new(
        GObjectName,
        "GObject, the object system poppler-glib's documents and pages live in",
        ["libgobject-2.0.so.0"],
        ["libgobject-2.0.so", "libgobject-2.0.0.dylib", "libgobject-2.0-0.dll"],
        "libglib2.0-0",
        ["g_object_unref"],
        null,
        null);

    /// <summary>Describes libgio-2.0 (the copy poppler-glib links against).</summary>
    public static readonly PdfNativeLibrarySpec GioSpec = new(
        GioName,
        "GIO, whose memory input streams carry password-protected documents to poppler",
        ["libgio-2.0.so.0"],
        ["libgio-2.0.so", "libgio-2.0.0.dylib", "libgio-2.0-0.dll"],
        "libglib2.0-0",
        ["g_memory_input_stream_new_from_bytes"],
        null,
        null);

    static PdfNativeLibraries()
    {
        NativeLibrary.SetDllImportResolver(typeof(PdfNativeLibraries).Assembly, Resolve);
    }

    /// <summary>Gets the loader for poppler-glib.</summary>
    public static PdfNativeLibrary Poppler { get; } = new(PopplerSpec, PdfLibraryOptions.Shared);

    /// <summary>Gets the loader for cairo.</summary>
    public static PdfNativeLibrary Cairo { get; } = new(CairoSpec, PdfLibraryOptions.Shared);

    /// <summary>Gets the loader for GLib.</summary>
    public static PdfNativeLibrary GLib { get; } = new(GLibSpec, PdfLibraryOptions.Shared);

    /// <summary>Gets the loader for GObject.</summary>
    public static PdfNativeLibrary GObject { get; } = new(GObjectSpec, PdfLibraryOptions.Shared);

    /// <summary>Gets the loader for GIO.</summary>
    public static PdfNativeLibrary Gio { get; } = new(GioSpec, PdfLibraryOptions.Shared);

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

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        switch (libraryName)
        {
            case PopplerName:
                return Poppler.GetHandle();
            case CairoName:
                Poppler.GetHandle();
                return Cairo.GetHandle();
            case GLibName:
                Poppler.GetHandle();
                return GLib.GetHandle();
            case GObjectName:
                Poppler.GetHandle();
                return GObject.GetHandle();
            case GioName:
                Poppler.GetHandle();
                return Gio.GetHandle();
            default:
                return IntPtr.Zero;
        }
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
