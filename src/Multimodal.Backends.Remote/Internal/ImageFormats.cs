// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Remote.Internal;

/// <summary>Recognises encoded images by their first bytes, and tells which formats engines read as they are.</summary>
internal static class ImageFormats
{
    /// <summary>Guesses the media type of an encoded image from its signature.</summary>
    /// <param name="data">The start of the file (a few dozen bytes are enough).</param>
    /// <returns><c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c>, <c>image/gif</c>, <c>image/bmp</c> or <c>image/tiff</c>; <see langword="null"/> when unknown.</returns>
    public static string? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return "image/gif";
        }

        if (data.StartsWith("BM"u8) && data.Length >= 14)
        {
            return "image/bmp";
        }

        if (data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8))
        {
            return "image/tiff";
        }

        return null;
    }

    /// <summary>Tells whether engines can be expected to read a format as it is: PNG, JPEG, WebP, GIF and BMP (what browsers, PIL and llama.cpp's loader all take).</summary>
    /// <param name="mediaType">The media type, possibly with parameters.</param>
    /// <returns>Whether the bytes can be sent unchanged.</returns>
    public static bool IsWidelySupported(string mediaType)
    {
        var bare = Bare(mediaType);
        return bare is "image/png" or "image/jpeg" or "image/jpg" or "image/webp" or "image/gif" or "image/bmp" or "image/x-ms-bmp";
    }

    /// <summary>Strips parameters and lower-cases a media type.</summary>
    /// <param name="mediaType">The media type.</param>
    /// <returns>For example <c>image/png</c>.</returns>
    public static string Bare(string mediaType)
    {
        var semicolon = mediaType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? mediaType : mediaType[..semicolon]).Trim().ToLowerInvariant();
    }
}
