// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Images.Interop.WebP;

/// <summary>Mirrors <c>struct WebPBitstreamFeatures</c> from libwebp's decode.h (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct WebPBitstreamFeatures
{
    /// <summary>int width: the width from the bitstream.</summary>
    public int Width;

    /// <summary>int height: the height from the bitstream.</summary>
    public int Height;

    /// <summary>int has_alpha: non-zero when the image has an alpha channel.</summary>
    public int HasAlpha;

    /// <summary>int has_animation: non-zero for an animation.</summary>
    public int HasAnimation;

    /// <summary>int format: 0 undefined/mixed, 1 lossy, 2 lossless.</summary>
    public int Format;

    /// <summary>uint32_t pad[5]: reserved.</summary>
    public fixed uint Pad[5];
}

/// <summary>libwebp's stateless (thread-safe) decoding functions.</summary>
/// <remarks>libwebp reports every failure through its return value; it never unwinds through the caller.</remarks>
internal static unsafe partial class WebPNative
{
    /// <summary>The logical library name, resolved by <see cref="NativeLibraries"/>.</summary>
    public const string Library = NativeLibraries.WebPName;

    /// <summary>WEBP_DECODER_ABI_VERSION of libwebp 1.x (major 2), checked by <c>WebPGetFeaturesInternal</c>.</summary>
    public const int DecoderAbiVersion = 0x0209;

    /// <summary>VP8_STATUS_OK.</summary>
    public const int StatusOk = 0;

    /// <summary>VP8_STATUS_NOT_ENOUGH_DATA: the data is truncated.</summary>
    public const int StatusNotEnoughData = 7;

    // Any call into this class first installs the assembly's DllImport resolver (see TurboJpegNative).
    static WebPNative() => NativeLibraries.RegisterResolver();

    // int WebPGetDecoderVersion(void);
    [LibraryImport(Library, EntryPoint = "WebPGetDecoderVersion")]
    public static partial int GetDecoderVersion();

    // int WebPGetInfo(const uint8_t* data, size_t data_size, int* width, int* height);
    [LibraryImport(Library, EntryPoint = "WebPGetInfo")]
    public static partial int GetInfo(byte* data, nuint dataSize, out int width, out int height);

    // VP8StatusCode WebPGetFeaturesInternal(const uint8_t*, size_t, WebPBitstreamFeatures*, int);
    [LibraryImport(Library, EntryPoint = "WebPGetFeaturesInternal")]
    public static partial int GetFeaturesInternal(byte* data, nuint dataSize, WebPBitstreamFeatures* features, int version);

    // uint8_t* WebPDecodeRGBInto(const uint8_t* data, size_t data_size, uint8_t* output_buffer,
    //                            size_t output_buffer_size, int output_stride);
    [LibraryImport(Library, EntryPoint = "WebPDecodeRGBInto")]
    public static partial byte* DecodeRgbInto(byte* data, nuint dataSize, byte* outputBuffer, nuint outputBufferSize, int outputStride);

    // uint8_t* WebPDecodeRGBAInto(const uint8_t* data, size_t data_size, uint8_t* output_buffer,
    //                             size_t output_buffer_size, int output_stride);
    [LibraryImport(Library, EntryPoint = "WebPDecodeRGBAInto")]
    public static partial byte* DecodeRgbaInto(byte* data, nuint dataSize, byte* outputBuffer, nuint outputBufferSize, int outputStride);
}
