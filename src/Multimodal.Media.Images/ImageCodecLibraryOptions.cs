// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Images;

/// <summary>Where the native codec libraries (libjpeg-turbo's TurboJPEG and libwebp) are loaded from.</summary>
/// <remarks>
/// <para>
/// Each library is probed in this order: the explicit path set here, the library's SONAME in each
/// <see cref="SearchDirectories"/> entry, the SONAME through the system loader (<c>libturbojpeg.so.0</c>,
/// <c>libwebp.so.7</c>), then plain names (<c>libturbojpeg.so</c>, <c>turbojpeg</c>, …). On Debian and Ubuntu,
/// <c>apt-get install libturbojpeg0 libwebp7</c> provides both.
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
public sealed class ImageCodecLibraryOptions
{
    private readonly Lock _lock = new();
    private readonly List<string> _searchDirectories = [];
    private string? _turboJpegPath;
    private string? _webPPath;
    private bool _frozen;

    /// <summary>Gets the options the decoders in this assembly load their native libraries with.</summary>
    public static ImageCodecLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of the TurboJPEG library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? TurboJpegPath
    {
        get
        {
            lock (_lock)
            {
                return _turboJpegPath;
            }
        }

        set
        {
            lock (_lock)
            {
                ThrowIfFrozen();
                _turboJpegPath = value;
            }
        }
    }

    /// <summary>Gets or sets the full path of the libwebp library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    public string? WebPPath
    {
        get
        {
            lock (_lock)
            {
                return _webPPath;
            }
        }

        set
        {
            lock (_lock)
            {
                ThrowIfFrozen();
                _webPPath = value;
            }
        }
    }

    /// <summary>Gets the extra folders searched for the libraries' SONAMEs, in order.</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> SearchDirectories
    {
        get
        {
            lock (_lock)
            {
                return [.. _searchDirectories];
            }
        }
    }

    /// <summary>Gets whether a library has loaded from these options, so that they can no longer change.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_lock)
            {
                return _frozen;
            }
        }
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

    /// <summary>Adds a folder to <see cref="SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the libraries.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public ImageCodecLibraryOptions AddSearchDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        lock (_lock)
        {
            ThrowIfFrozen();
            _searchDirectories.Add(directory);
        }

        return this;
    }

    /// <summary>Freezes the options; called once a library has loaded from them.</summary>
    internal void Freeze()
    {
        lock (_lock)
        {
            _frozen = true;
        }
    }

    private void ThrowIfFrozen()
    {
        if (_frozen)
        {
            throw new InvalidOperationException("The native codec libraries have already been loaded with these options; configure ImageCodecLibraryOptions.Shared before the first JPEG or WebP is decoded.");
        }
    }
}
