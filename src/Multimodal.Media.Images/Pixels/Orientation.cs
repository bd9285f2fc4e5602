// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;

namespace Multimodal.Media.Images.Pixels;

/// <summary>Applies an EXIF orientation the way <c>PIL.ImageOps.exif_transpose</c> does.</summary>
/// <remarks>
/// 2 = FLIP_LEFT_RIGHT, 3 = ROTATE_180, 4 = FLIP_TOP_BOTTOM, 5 = TRANSPOSE, 6 = ROTATE_270 (90° clockwise),
/// 7 = TRANSVERSE, 8 = ROTATE_90 (90° counter-clockwise); 1, 0 and unknown values leave the image as it is.
/// </remarks>
internal static class Orientation
{
    /// <summary>Transposes tightly packed pixels.</summary>
    /// <param name="pixels">The pixels, <paramref name="bytesPerPixel"/> bytes each.</param>
    /// <param name="width">The width; on return, the new width.</param>
    /// <param name="height">The height; on return, the new height.</param>
    /// <param name="bytesPerPixel">1, 3 or 4.</param>
    /// <param name="orientation">The EXIF orientation.</param>
    /// <returns>The transposed pixels (<paramref name="pixels"/> itself when nothing changes).</returns>
    public static byte[] Apply(byte[] pixels, ref int width, ref int height, int bytesPerPixel, int orientation)
    {
        if (orientation is < 2 or > 8)
        {
            return pixels;
        }

        int w = width, h = height;
        var swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        var output = GC.AllocateUninitializedArray<byte>(pixels.Length);
        for (var y = 0; y < oh; y++)
        {
            for (var x = 0; x < ow; x++)
            {
                // (sx, sy): the source pixel that lands at (x, y) in the output.
                var (sx, sy) = orientation switch
                {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                pixels.AsSpan(((sy * w) + sx) * bytesPerPixel, bytesPerPixel).CopyTo(output.AsSpan(((y * ow) + x) * bytesPerPixel));
            }
        }

        width = ow;
        height = oh;
        return output;
    }
}

/// <summary>Reads the Orientation tag (0x0112) from IFD0 of an EXIF block, as <c>Image.getexif()</c> sees it.</summary>
internal static class ExifOrientation
{
    /// <summary>Reads the orientation from EXIF data, with or without its <c>Exif\0\0</c> prefix.</summary>
    /// <param name="exif">The EXIF payload (a TIFF header and IFDs).</param>
    /// <returns>The orientation (1–8), or 0 when there is none or the block cannot be read.</returns>
    public static int Read(ReadOnlySpan<byte> exif)
    {
        if (exif.StartsWith("Exif\0\0"u8))
        {
            exif = exif[6..];
        }

        if (exif.Length < 8)
        {
            return 0;
        }

        bool little;
        if (exif[0] == 'I' && exif[1] == 'I' && exif[2] == 42 && exif[3] == 0)
        {
            little = true;
        }
        else if (exif[0] == 'M' && exif[1] == 'M' && exif[2] == 0 && exif[3] == 42)
        {
            little = false;
        }
        else
        {
            return 0;
        }

        var ifd = ReadUInt32(exif, 4, little);
        return ReadTag(exif, ifd, little, 0x0112) is { } value and >= 1 and <= 8 ? (int)value : 0;
    }

    /// <summary>Reads a single SHORT or LONG value of one tag from the IFD at <paramref name="ifdOffset"/>.</summary>
    /// <param name="tiff">The whole TIFF structure, header first.</param>
    /// <param name="ifdOffset">The IFD's offset from the start of <paramref name="tiff"/>.</param>
    /// <param name="little">Whether the byte order is little-endian.</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The value, or <see langword="null"/> when absent, of another type, multi-valued, or unreadable.</returns>
    public static uint? ReadTag(ReadOnlySpan<byte> tiff, uint ifdOffset, bool little, ushort tag)
    {
        if (ifdOffset > (uint)tiff.Length - 2 || tiff.Length < 2)
        {
            return null;
        }

        var count = ReadUInt16(tiff, (int)ifdOffset, little);
        for (var i = 0; i < count; i++)
        {
            var e = (long)ifdOffset + 2 + (i * 12L);
            if (e + 12 > tiff.Length)
            {
                return null;
            }

            var entry = tiff.Slice((int)e, 12);
            if (ReadUInt16(entry, 0, little) != tag)
            {
                continue;
            }

            var type = ReadUInt16(entry, 2, little);
            var n = ReadUInt32(entry, 4, little);
            if (n != 1)
            {
                return null;
            }

            return type switch
            {
                3 => ReadUInt16(entry, 8, little),
                4 => ReadUInt32(entry, 8, little),
                _ => null,
            };
        }

        return null;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> data, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]) : BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);

    private static uint ReadUInt32(ReadOnlySpan<byte> data, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]) : BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
}
