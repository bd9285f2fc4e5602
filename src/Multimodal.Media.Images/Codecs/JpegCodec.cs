// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using Multimodal.Media.Images.Interop;
using Multimodal.Media.Images.Interop.TurboJpeg;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>Decodes JPEG through libjpeg-turbo's TurboJPEG API with the settings Pillow 9.4 uses, so the pixels match Pillow's.</summary>
/// <remarks>
/// <para>
/// Pillow decodes with libjpeg's defaults: the accurate integer IDCT (JDCT_ISLOW) and fancy upsampling, with output
/// colour space RGB, grayscale or CMYK; TurboJPEG's <c>tjDecompress2</c> without flags uses the same settings and the
/// same libjpeg-turbo code. Grey JPEGs are decoded as grey and replicated, as Pillow's "L" to "RGB" conversion does.
/// </para>
/// <para>
/// CMYK and YCCK files: Pillow always assumes Adobe's inverted CMYK (rawmode "CMYK;I", whether or not an Adobe marker
/// is present), so each decoded value v is taken as 255 − v, then converted with Pillow's <c>cmyk2rgb</c>.
/// </para>
/// <para>
/// Errors: 12-bit and lossless JPEGs are rejected up front. libjpeg warnings (for example extraneous bytes before a
/// marker) are ignored, as Pillow ignores them, except "Premature end of JPEG file", which means the data is truncated
/// (Pillow reports those as truncated too). Progressive files with more than 500 scans are rejected (TJFLAG_LIMITSCANS),
/// a denial-of-service guard Pillow does not have.
/// </para>
/// </remarks>
internal static class JpegCodec
{
    /// <summary>Tells whether data starts with a JPEG SOI marker.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a JPEG file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>Decodes a JPEG file to the requested layout.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <param name="width">The decoded width.</param>
    /// <param name="height">The decoded height.</param>
    /// <param name="exifOrientation">The EXIF orientation from the first APP1 Exif segment, or 0.</param>
    /// <returns>Tightly packed pixels in <see cref="DecodeContext.Format"/>.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, unsupported or over a limit.</exception>
    /// <exception cref="NativeLibraryException">libturbojpeg cannot be loaded.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> data, DecodeContext context, out int width, out int height, out int exifOrientation)
    {
        var header = ScanMarkers(data, context);
        exifOrientation = header.ExifOrientation;
        NativeLibraries.EnsureTurboJpeg();

        using var handle = TurboJpegNative.InitDecompress();
        if (handle.IsInvalid)
        {
            throw new InvalidMediaException("Cannot decode the JPEG image: TurboJPEG could not create a decompressor (out of memory?).", context.MediaType);
        }

        if (handle.DecompressHeader(data, out width, out height, out var colorspace) != 0)
        {
            throw context.Fail($"TurboJPEG cannot read the header: {handle.GetErrorMessage()}");
        }

        context.CheckSize(width, height);
        var pixels = width * height;
        var format = context.Format;
        var output = GC.AllocateUninitializedArray<byte>(pixels * ImageFrame.BytesPerPixelOf(format));
        switch (colorspace)
        {
            case TurboJpegColorspace.Cmyk or TurboJpegColorspace.Ycck:
                var cmyk = ArrayPool<byte>.Shared.Rent(pixels * 4);
                try
                {
                    var span = cmyk.AsSpan(0, pixels * 4);
                    Decompress(handle, data, span, width, height, TurboJpegPixelFormat.Cmyk, context);

                    // Pillow's "CMYK;I" unpacker inverts every byte before cmyk2rgb sees it.
                    for (var i = 0; i < span.Length; i++)
                    {
                        span[i] = (byte)(255 - span[i]);
                    }

                    PillowConversion.FromCmyk(span, output, format);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(cmyk);
                }

                break;
            case TurboJpegColorspace.Gray:
                if (format == ImagePixelFormat.Gray8)
                {
                    Decompress(handle, data, output, width, height, TurboJpegPixelFormat.Gray, context);
                }
                else
                {
                    // Decode as grey (Pillow's "L") and replicate, rather than asking libjpeg for RGB.
                    var gray = ArrayPool<byte>.Shared.Rent(pixels);
                    try
                    {
                        var span = gray.AsSpan(0, pixels);
                        Decompress(handle, data, span, width, height, TurboJpegPixelFormat.Gray, context);
                        var bpp = ImageFrame.BytesPerPixelOf(format);
                        for (var i = 0; i < pixels; i++)
                        {
                            output[i * bpp] = output[(i * bpp) + 1] = output[(i * bpp) + 2] = span[i];
                            if (bpp == 4)
                            {
                                output[(i * 4) + 3] = 255;
                            }
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(gray);
                    }
                }

                break;
            default:
                if (format == ImagePixelFormat.Gray8)
                {
                    // Pillow decodes to RGB and converts with L24; libjpeg's own grey output (the Y channel) differs.
                    var rgb = ArrayPool<byte>.Shared.Rent(pixels * 3);
                    try
                    {
                        var span = rgb.AsSpan(0, pixels * 3);
                        Decompress(handle, data, span, width, height, TurboJpegPixelFormat.Rgb, context);
                        PillowConversion.RgbToLuma(span, output);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(rgb);
                    }
                }
                else
                {
                    Decompress(handle, data, output, width, height, format == ImagePixelFormat.Rgba32 ? TurboJpegPixelFormat.Rgba : TurboJpegPixelFormat.Rgb, context);
                }

                break;
        }

        return output;
    }

    private static void Decompress(SafeTurboJpegHandle handle, ReadOnlySpan<byte> data, Span<byte> destination, int width, int height, TurboJpegPixelFormat format, DecodeContext context)
    {
        if (handle.Decompress(data, destination, width, height, format, TurboJpegNative.FlagLimitScans) == 0)
        {
            return;
        }

        var message = handle.GetErrorMessage();
        if (handle.GetErrorCode() != TurboJpegNative.ErrorWarning)
        {
            throw context.Fail($"TurboJPEG reports: {message}");
        }

        // A warning: the image was decoded. Pillow ignores libjpeg warnings, except that running out of data makes
        // its decoder stop and report a truncated file.
        if (message.Contains("Premature end of JPEG file", StringComparison.Ordinal))
        {
            throw context.Truncated(message);
        }
    }

    /// <summary>Walks the markers up to the first scan: checks the frame type and precision, and finds the EXIF segment.</summary>
    private static JpegHeader ScanMarkers(ReadOnlySpan<byte> data, DecodeContext context)
    {
        var pos = 2;
        var exifOrientation = 0;
        var haveExif = false;
        var haveFrame = false;
        while (true)
        {
            // Skip to the next 0xFF, then past fill bytes.
            while (pos < data.Length && data[pos] != 0xFF)
            {
                pos++;
            }

            while (pos < data.Length && data[pos] == 0xFF)
            {
                pos++;
            }

            if (pos >= data.Length)
            {
                throw context.Truncated("the file ends before the first scan");
            }

            var marker = data[pos++];
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue; // Standalone markers.
            }

            if (marker == 0xD9)
            {
                throw context.Fail("the file ends (EOI) before any image data");
            }

            if (pos + 2 > data.Length)
            {
                throw context.Truncated("a marker segment length");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            if (length < 2 || pos + length > data.Length)
            {
                throw context.Truncated($"the 0xFF{marker:X2} segment at byte {pos - 2}");
            }

            var segment = data.Slice(pos + 2, length - 2);
            pos += length;
            if (marker == 0xDA)
            {
                if (!haveFrame)
                {
                    throw context.Fail("a scan starts before the frame header (SOF)");
                }

                return new JpegHeader(exifOrientation);
            }

            if (marker == 0xE1 && !haveExif && segment.StartsWith("Exif\0"u8))
            {
                // Pillow keeps the first APP1 Exif segment.
                haveExif = true;
                exifOrientation = ExifOrientation.Read(segment);
            }
            else if (marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC))
            {
                if (segment.Length < 6)
                {
                    throw context.Fail("the frame header (SOF) is too short");
                }

                if (marker is 0xC3 or 0xC7 or 0xCB or 0xCF)
                {
                    throw context.Fail("lossless JPEG (SOF3/7/11/15) is not supported");
                }

                if (segment[0] != 8)
                {
                    throw context.Fail($"{segment[0]}-bit JPEG is not supported; only 8-bit samples are (as in Pillow and libjpeg-turbo's 8-bit API)");
                }

                var components = segment[5];
                if (components is not (1 or 3 or 4))
                {
                    throw context.Fail($"a JPEG with {components} components is not supported (1, 3 or 4 are)");
                }

                haveFrame = true;
            }
        }
    }

    private readonly record struct JpegHeader(int ExifOrientation);
}
