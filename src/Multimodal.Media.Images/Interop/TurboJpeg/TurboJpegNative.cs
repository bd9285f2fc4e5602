// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Images.Interop.TurboJpeg;

/// <summary>TurboJPEG 2.x pixel formats (<c>enum TJPF</c> in turbojpeg.h).</summary>
internal enum TurboJpegPixelFormat
{
    /// <summary>TJPF_RGB: 3 bytes, red first.</summary>
    Rgb = 0,

    /// <summary>TJPF_GRAY: 1 byte of luminance.</summary>
    Gray = 6,

    /// <summary>TJPF_RGBA: 4 bytes, red first; the decoder writes 0xFF alpha.</summary>
    Rgba = 7,

    /// <summary>TJPF_CMYK: 4 bytes, the CMYK values as stored (YCCK is converted to CMYK).</summary>
    Cmyk = 11,
}

/// <summary>TurboJPEG 2.x colour spaces of a JPEG file (<c>enum TJCS</c>).</summary>
internal enum TurboJpegColorspace
{
    /// <summary>TJCS_RGB: stored as RGB (for example an Adobe marker with transform 0).</summary>
    Rgb = 0,

    /// <summary>TJCS_YCbCr: the usual 3-component JPEG.</summary>
    YCbCr = 1,

    /// <summary>TJCS_GRAY: 1 component.</summary>
    Gray = 2,

    /// <summary>TJCS_CMYK: 4 components stored as CMYK.</summary>
    Cmyk = 3,

    /// <summary>TJCS_YCCK: 4 components stored as YCCK (Adobe transform 2).</summary>
    Ycck = 4,
}

/// <summary>The <c>tjInitDecompress</c> entry point and TurboJPEG 2.x constants; the per-handle functions live on <see cref="SafeTurboJpegHandle"/>.</summary>
internal static partial class TurboJpegNative
{
    /// <summary>The logical library name, resolved by <see cref="NativeLibraries"/>.</summary>
    public const string Library = NativeLibraries.TurboJpegName;

    /// <summary>TJFLAG_LIMITSCANS (TurboJPEG 2.1): fail on progressive JPEGs with more than 500 scans, a denial-of-service guard; older versions ignore it.</summary>
    public const int FlagLimitScans = 32768;

    /// <summary>TJERR_WARNING from <c>tjGetErrorCode</c>: the image was decoded but libjpeg reported a problem.</summary>
    public const int ErrorWarning = 0;

    // Any call into this class first installs the assembly's DllImport resolver, so "turbojpeg" resolves to the
    // library the options select even if a caller skipped NativeLibraries.EnsureTurboJpeg().
    static TurboJpegNative() => NativeLibraries.RegisterResolver();

    // tjhandle tjInitDecompress(void);
    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    public static partial SafeTurboJpegHandle InitDecompress();
}
