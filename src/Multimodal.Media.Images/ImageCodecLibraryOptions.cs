// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Interop;

namespace Multimodal.Media.Images;

/// <summary>Where the native codec libraries (libjpeg-turbo's TurboJPEG and libwebp) are loaded from.</summary>
/// <remarks>
/// <para>
/// Each library is probed in this order: the explicit path set here, its file names in each
/// <see cref="NativeLibraryOptions.SearchDirectories"/> entry and in the application's own folders (<c>runtimes/&lt;rid&gt;/native</c>,
/// then the base directory), the SONAME through the system loader (<c>libturbojpeg.so.0</c>, <c>libwebp.so.7</c>), then
/// plain names (<c>libturbojpeg.so</c>, <c>turbojpeg</c>, …). On Debian and Ubuntu, <c>apt-get install libturbojpeg0 libwebp7</c>
/// provides both. See <see cref="NativeLibraryLoader"/> for the details.
/// </para>
/// <para>
/// Configure <see cref="Shared"/> before the first JPEG or WebP is decoded: the instance is frozen once a library
/// has loaded from it, and later changes throw <see cref="InvalidOperationException"/>. The members are thread-safe.
/// </para>
/// <code>
/// ImageCodecLibraryOptions.Shared
///     .WithTurboJpegPath("/opt/libjpeg-turbo/lib64/libturbojpeg.so.0")
///     .AddSearchDirectory("/opt/webp/lib");
/// </code>
/// </remarks>
public sealed class ImageCodecLibraryOptions : NativeLibraryOptions
{
    /// <summary>Initializes a new instance with no explicit paths and no search directories.</summary>
    public ImageCodecLibraryOptions()
        : base("ImageCodecLibraryOptions.Shared", "the first JPEG or WebP is decoded")
    {
    }

    /// <summary>Gets the options the decoders in this assembly load their native libraries with.</summary>
    public static ImageCodecLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of the TurboJPEG library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? TurboJpegPath
    {
        get => GetLibraryPath(Interop.NativeLibraries.TurboJpegName);
        set => SetLibraryPath(Interop.NativeLibraries.TurboJpegName, value);
    }

    /// <summary>Gets or sets the full path of the libwebp library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? WebPPath
    {
        get => GetLibraryPath(Interop.NativeLibraries.WebPName);
        set => SetLibraryPath(Interop.NativeLibraries.WebPName, value);
    }

    /// <summary>Sets <see cref="TurboJpegPath"/>.</summary>
    /// <param name="path">The full path of the TurboJPEG shared library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public ImageCodecLibraryOptions WithTurboJpegPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        TurboJpegPath = path;
        return this;
    }

    /// <summary>Sets <see cref="WebPPath"/>.</summary>
    /// <param name="path">The full path of the libwebp shared library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public ImageCodecLibraryOptions WithWebPPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        WebPPath = path;
        return this;
    }

    /// <summary>Adds a folder to <see cref="NativeLibraryOptions.SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the libraries.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public ImageCodecLibraryOptions AddSearchDirectory(string directory)
    {
        AddSearchDirectoryCore(directory);
        return this;
    }
}
