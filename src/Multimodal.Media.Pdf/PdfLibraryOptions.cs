// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Interop;
using Multimodal.Media.Pdf.Interop;

namespace Multimodal.Media.Pdf;

/// <summary>Where the native libraries behind <see cref="PdfDocument"/> and <see cref="PdfRasterizer"/> (poppler-glib and cairo) are loaded from.</summary>
/// <remarks>
/// <para>
/// poppler-glib is loaded first, probed in this order: <see cref="PopplerGlibPath"/>, its file names
/// (<c>libpoppler-glib.so.8</c>, …) in each <see cref="NativeLibraryOptions.SearchDirectories"/> entry and in the application's
/// own folders (<c>runtimes/&lt;rid&gt;/native</c>, then the base directory), the SONAME through the system loader, then plain
/// names (see <see cref="NativeLibraryLoader"/>). cairo is probed the same way (<see cref="CairoPath"/>, <c>libcairo.so.2</c>, …). GLib and GObject
/// are the copies poppler-glib itself links against (found by SONAME once poppler-glib is loaded). On Debian and
/// Ubuntu, <c>apt-get install libpoppler-glib8 libcairo2</c> provides them all.
/// </para>
/// <para>
/// Configure <see cref="Shared"/> before the first PDF is opened: the instance is frozen once a library has loaded
/// from it, and later changes throw <see cref="InvalidOperationException"/>. The members are thread-safe.
/// </para>
/// <code>
/// PdfLibraryOptions.Shared.WithPopplerGlibPath("/opt/poppler/lib/libpoppler-glib.so.8");
/// </code>
/// </remarks>
public sealed class PdfLibraryOptions : NativeLibraryOptions
{
    /// <summary>Initializes a new instance with no explicit paths and no search directories.</summary>
    public PdfLibraryOptions()
        : base("PdfLibraryOptions.Shared", "the first PDF is opened")
    {
    }

    /// <summary>Gets the options this assembly loads its native libraries with.</summary>
    public static PdfLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of libpoppler-glib, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? PopplerGlibPath
    {
        get => GetLibraryPath(PdfNativeLibraries.PopplerName);
        set => SetLibraryPath(PdfNativeLibraries.PopplerName, value);
    }

    /// <summary>Gets or sets the full path of libcairo, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed (after poppler-glib has loaded, so that the copy it links against is found).</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? CairoPath
    {
        get => GetLibraryPath(PdfNativeLibraries.CairoName);
        set => SetLibraryPath(PdfNativeLibraries.CairoName, value);
    }

    /// <summary>Sets <see cref="PopplerGlibPath"/>.</summary>
    /// <param name="path">The full path of the libpoppler-glib shared library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public PdfLibraryOptions WithPopplerGlibPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        PopplerGlibPath = path;
        return this;
    }

    /// <summary>Sets <see cref="CairoPath"/>.</summary>
    /// <param name="path">The full path of the libcairo shared library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public PdfLibraryOptions WithCairoPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        CairoPath = path;
        return this;
    }

    /// <summary>Adds a folder to <see cref="NativeLibraryOptions.SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the libraries.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public PdfLibraryOptions AddSearchDirectory(string directory)
    {
        AddSearchDirectoryCore(directory);
        return this;
    }
}
