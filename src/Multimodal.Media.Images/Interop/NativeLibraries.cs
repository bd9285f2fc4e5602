// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Media.Images.Interop;

/// <summary>The native libraries this assembly uses, and the <c>DllImport</c> resolver that maps their logical names to the loaded files.</summary>
internal static class NativeLibraries
{
    /// <summary>The logical name of libjpeg-turbo's TurboJPEG library in <c>LibraryImport</c>s.</summary>
    public const string TurboJpegName = "turbojpeg";

    /// <summary>The logical name of libwebp in <c>LibraryImport</c>s.</summary>
    public const string WebPName = "webp";

    /// <summary>The oldest supported libwebp decoder version (1.0.0), as <c>WebPGetDecoderVersion</c> encodes it.</summary>
    public const int MinimumWebPVersion = 0x010000;

    /// <summary>Describes libturbojpeg: SONAME libturbojpeg.so.0 from the Debian package libturbojpeg0; <c>tjGetErrorStr2</c>/<c>tjGetErrorCode</c> need TurboJPEG 2.0 or newer.</summary>
    public static readonly NativeLibrarySpec TurboJpegSpec = new()
    {
        LogicalName = TurboJpegName,
        Description = "libjpeg-turbo's TurboJPEG API, used to decode JPEG images",
        SoNames = ["libturbojpeg.so.0"],
        PlainNames = ["libturbojpeg.so", "libturbojpeg.dylib", "turbojpeg.dll"],
        AptPackage = "libturbojpeg0",
        RequiredExports = ["tjInitDecompress", "tjDecompressHeader3", "tjDecompress2", "tjGetErrorStr2", "tjGetErrorCode", "tjDestroy"],
    };

    /// <summary>Describes libwebp: SONAME libwebp.so.7 from the Debian package libwebp7, version 1.0 or newer.</summary>
    public static readonly NativeLibrarySpec WebPSpec = new()
    {
        LogicalName = WebPName,
        Description = "libwebp, used to decode WebP images",
        SoNames = ["libwebp.so.7"],
        PlainNames = ["libwebp.so", "libwebp.dylib", "libwebp.dll"],
        AptPackage = "libwebp7",
        RequiredExports = ["WebPGetDecoderVersion", "WebPGetInfo", "WebPGetFeaturesInternal", "WebPDecodeRGBInto", "WebPDecodeRGBAInto"],
        CheckVersion = CheckWebPVersion,
    };

    static NativeLibraries()
    {
        NativeLibraryLoader.SetDllImportResolver(typeof(NativeLibraries).Assembly, TurboJpeg, WebP);
    }

    /// <summary>Gets the loader for TurboJPEG.</summary>
    public static NativeLibraryLoader TurboJpeg { get; } = new(TurboJpegSpec, ImageCodecLibraryOptions.Shared);

    /// <summary>Gets the loader for libwebp.</summary>
    public static NativeLibraryLoader WebP { get; } = new(WebPSpec, ImageCodecLibraryOptions.Shared);

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads TurboJPEG (installing the resolver first) so that a missing library surfaces as <see cref="NativeLibraryException"/> before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">The library cannot be loaded or is unsupported.</exception>
    public static void EnsureTurboJpeg() => TurboJpeg.GetHandle();

    /// <summary>Loads libwebp and checks its version before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">The library cannot be loaded or is unsupported.</exception>
    public static void EnsureWebP() => WebP.GetHandle();

    /// <summary>Formats a libwebp version number (0xMMmmpp) as text.</summary>
    /// <param name="version">The encoded version.</param>
    /// <returns>For example <c>1.2.4</c>.</returns>
    public static string FormatWebPVersion(int version) => $"{(version >> 16) & 0xFF}.{(version >> 8) & 0xFF}.{version & 0xFF}";

    private static unsafe string? CheckWebPVersion(IntPtr handle)
    {
        // int WebPGetDecoderVersion(void); called through the export so the check runs before the resolver hands out the handle.
        var getVersion = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "WebPGetDecoderVersion");
        var version = getVersion();
        return version >= MinimumWebPVersion
            ? null
            : $"its decoder version is {FormatWebPVersion(version)}, older than the required {FormatWebPVersion(MinimumWebPVersion)}";
    }
}
