// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using Multimodal.Media.Images.Interop;
using Multimodal.Media.Images.Interop.WebP;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>Decodes still WebP images (lossy, lossless, with or without alpha) through libwebp.</summary>
/// <remarks>
/// Pillow 9.4 decodes a still WebP with <c>WebPAnimDecoder</c> in MODE_RGBA (straight alpha) and opens it as RGBA
/// when the bitstream has alpha, else RGB. The first frame of a still image is a plain decode, so
/// <c>WebPDecodeRGBInto</c>/<c>WebPDecodeRGBAInto</c> give the same pixels. Animated WebP is rejected.
/// The EXIF orientation comes from the EXIF chunk of an extended (VP8X) file, as Pillow's demuxer reads it.
/// </remarks>
internal static class WebPCodec
{
    /// <summary>Tells whether data starts with a RIFF/WEBP header.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a WebP file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) => data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8);

    /// <summary>Decodes a WebP file to the requested layout.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <param name="width">The decoded width.</param>
    /// <param name="height">The decoded height.</param>
    /// <param name="exifOrientation">The EXIF orientation, or 0.</param>
    /// <returns>Tightly packed pixels in <see cref="DecodeContext.Format"/>.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, animated or over a limit.</exception>
    /// <exception cref="NativeLibraryException">libwebp cannot be loaded or is older than 1.0.</exception>
    public static unsafe byte[] Decode(ReadOnlySpan<byte> data, DecodeContext context, out int width, out int height, out int exifOrientation)
    {
        NativeLibraries.EnsureWebP();
        exifOrientation = ReadExifOrientation(data);
        WebPBitstreamFeatures features;
        fixed (byte* input = data)
        {
            var status = WebPNative.GetFeaturesInternal(input, (nuint)data.Length, &features, WebPNative.DecoderAbiVersion);
            if (status != WebPNative.StatusOk)
            {
                throw status == WebPNative.StatusNotEnoughData
                    ? context.Truncated("libwebp needs more data to read the header")
                    : context.Fail($"libwebp cannot read the header (VP8 status {status})");
            }
        }

        if (features.HasAnimation != 0)
        {
            throw context.Fail("animated WebP is not supported; decode a still image");
        }

        width = features.Width;
        height = features.Height;
        context.CheckSize(width, height);
        var pixels = width * height;
        var format = context.Format;
        var output = GC.AllocateUninitializedArray<byte>(pixels * ImageFrame.BytesPerPixelOf(format));
        if (format == ImagePixelFormat.Gray8)
        {
            // Pillow converts its RGB(A) image with L24; alpha does not take part.
            var rgb = ArrayPool<byte>.Shared.Rent(pixels * 3);
            try
            {
                DecodeInto(data, rgb.AsSpan(0, pixels * 3), width, rgba: false, context);
                PillowConversion.RgbToLuma(rgb.AsSpan(0, pixels * 3), output);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rgb);
            }
        }
        else
        {
            // RGBA output of an image without alpha gets alpha 255, like Pillow's RGB -> RGBA conversion.
            DecodeInto(data, output, width, format == ImagePixelFormat.Rgba32, context);
        }

        return output;
    }

    private static unsafe void DecodeInto(ReadOnlySpan<byte> data, Span<byte> destination, int width, bool rgba, DecodeContext context)
    {
        fixed (byte* input = data)
        fixed (byte* output = destination)
        {
            var stride = width * (rgba ? 4 : 3);
            var result = rgba
                ? WebPNative.DecodeRgbaInto(input, (nuint)data.Length, output, (nuint)destination.Length, stride)
                : WebPNative.DecodeRgbInto(input, (nuint)data.Length, output, (nuint)destination.Length, stride);
            if (result is null)
            {
                throw context.Fail("libwebp cannot decode the bitstream (corrupt or truncated data)");
            }
        }
    }

    /// <summary>Finds the EXIF chunk of an extended file and reads its orientation.</summary>
    private static int ReadExifOrientation(ReadOnlySpan<byte> data)
    {
        if (data.Length < 20 || !data.Slice(12, 4).SequenceEqual("VP8X"u8))
        {
            return 0;
        }

        var pos = 12;
        while (pos + 8 <= data.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
            if (size > (uint)(data.Length - pos - 8))
            {
                return 0;
            }

            if (data.Slice(pos, 4).SequenceEqual("EXIF"u8))
            {
                return ExifOrientation.Read(data.Slice(pos + 8, (int)size));
            }

            // Chunks are padded to an even size.
            pos += 8 + (int)size + (int)(size & 1);
        }

        return 0;
    }
}
