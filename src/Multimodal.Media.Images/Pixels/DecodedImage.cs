// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Images.Pixels;

/// <summary>The Pillow image mode a managed decoder produces, before conversion to the requested layout.</summary>
/// <remarks>Each value mirrors the mode Pillow 9.4 opens the same file in, so that the conversion can follow Pillow's <c>convert()</c> rules exactly.</remarks>
internal enum PixelMode
{
    /// <summary>Pillow "1": one byte per pixel, 0 or 255.</summary>
    Bilevel,

    /// <summary>Pillow "L": one byte of luminance.</summary>
    L,

    /// <summary>Pillow "LA": luminance and alpha.</summary>
    LA,

    /// <summary>Pillow "P": one palette index per pixel.</summary>
    P,

    /// <summary>Pillow "RGB" (also "RGBX", whose pad byte is dropped when unpacking).</summary>
    Rgb,

    /// <summary>Pillow "RGBA": straight alpha.</summary>
    Rgba,

    /// <summary>Pillow "CMYK", not inverted.</summary>
    Cmyk,

    /// <summary>Pillow "I"/"I;16": one 16-bit unsigned sample per pixel, stored as a native <see cref="ushort"/>.</summary>
    I16,
}

/// <summary>Decoded pixels in a Pillow mode, with the palette and transparency information Pillow keeps beside them.</summary>
internal sealed class DecodedImage
{
    /// <summary>Initializes an image with an uninitialised pixel buffer (the decoder writes every byte).</summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="mode">The Pillow mode.</param>
    public DecodedImage(int width, int height, PixelMode mode)
    {
        Width = width;
        Height = height;
        Mode = mode;
        Pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * BytesPerPixel(mode)));
        if (mode == PixelMode.P)
        {
            Palette = CreateRampPalette();
        }
    }

    /// <summary>Gets the width in pixels.</summary>
    public int Width { get; }

    /// <summary>Gets the height in pixels.</summary>
    public int Height { get; }

    /// <summary>Gets the Pillow mode.</summary>
    public PixelMode Mode { get; }

    /// <summary>Gets the pixels, row after row, <see cref="BytesPerPixel(PixelMode)"/> bytes each.</summary>
    public byte[] Pixels { get; }

    /// <summary>Gets the palette for <see cref="PixelMode.P"/>: 256 RGBA entries (1,024 bytes).</summary>
    /// <remarks>Entries the file does not define keep Pillow's default grey ramp (i, i, i, 255); alpha comes from tRNS or a GIF transparency index.</remarks>
    public byte[]? Palette { get; }

    /// <summary>Gets or sets Pillow's single transparent colour (<c>info["transparency"]</c>) for "1", "L", "I" (one value) or "RGB" (three values).</summary>
    /// <remarks>Only <c>convert("RGBA")</c> uses it: a pixel equal to the value's low byte(s) gets alpha 0, exactly like Pillow's <c>rgbT2rgba</c>.</remarks>
    public int[]? Transparency { get; set; }

    /// <summary>Gets or sets the EXIF orientation (1–8) found in the file, or 0; applied only when the caller asks.</summary>
    public int ExifOrientation { get; set; }

    /// <summary>Gets or sets an orientation Pillow applies while loading (the TIFF Orientation tag), or 0; always applied.</summary>
    public int LoadOrientation { get; set; }

    /// <summary>Gets the bytes per pixel of a mode.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>1 to 4.</returns>
    public static int BytesPerPixel(PixelMode mode) => mode switch
    {
        PixelMode.Bilevel or PixelMode.L or PixelMode.P => 1,
        PixelMode.LA or PixelMode.I16 => 2,
        PixelMode.Rgb => 3,
        _ => 4,
    };

    /// <summary>Creates Pillow's default palette: a grey ramp, opaque.</summary>
    /// <returns>1,024 bytes of RGBA.</returns>
    public static byte[] CreateRampPalette()
    {
        var palette = new byte[1024];
        for (var i = 0; i < 256; i++)
        {
            palette[i * 4] = palette[(i * 4) + 1] = palette[(i * 4) + 2] = (byte)i;
            palette[(i * 4) + 3] = 255;
        }

        return palette;
    }
}
