// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Images.Codecs;

/// <summary>The options of one decode, the format being decoded, and the helpers that turn problems into <see cref="InvalidMediaException"/>.</summary>
internal sealed class DecodeContext
{
    /// <summary>Initializes a context.</summary>
    /// <param name="options">The caller's options.</param>
    /// <param name="formatName">The format's display name, for messages (for example <c>PNG</c>).</param>
    /// <param name="mediaType">The media type reported with errors (for example <c>image/png</c>).</param>
    public DecodeContext(ImageDecodeOptions options, string formatName, string mediaType)
    {
        Format = options.Format;
        ApplyExifOrientation = options.ApplyExifOrientation;
        MaxPixels = options.MaxPixels;
        FormatName = formatName;
        MediaType = mediaType;
    }

    /// <summary>Gets the requested output layout.</summary>
    public ImagePixelFormat Format { get; }

    /// <summary>Gets whether the EXIF orientation is applied.</summary>
    public bool ApplyExifOrientation { get; }

    /// <summary>Gets the largest accepted pixel count.</summary>
    public long MaxPixels { get; }

    /// <summary>Gets the format's display name.</summary>
    public string FormatName { get; }

    /// <summary>Gets the media type reported with errors.</summary>
    public string MediaType { get; }

    /// <summary>Creates the exception for corrupt or unsupported data.</summary>
    /// <param name="reason">What is wrong, as a sentence fragment.</param>
    /// <returns>The exception to throw.</returns>
    public InvalidMediaException Fail(string reason) => new($"Cannot decode the {FormatName} image: {reason}.", MediaType);

    /// <summary>Creates the exception for data that ends too early.</summary>
    /// <param name="where">What was being read.</param>
    /// <returns>The exception to throw.</returns>
    public InvalidMediaException Truncated(string where) => Fail($"the data is truncated ({where})");

    /// <summary>Checks a header's size against <see cref="MaxPixels"/> and against what one buffer can hold, before anything is allocated.</summary>
    /// <param name="width">The width from the header.</param>
    /// <param name="height">The height from the header.</param>
    /// <exception cref="InvalidMediaException">A size is not positive, or the image is over a limit.</exception>
    public void CheckSize(long width, long height)
    {
        if (width <= 0 || height <= 0)
        {
            throw Fail($"the header gives an invalid size of {width}x{height}");
        }

        var pixels = width * height;
        if (pixels > MaxPixels)
        {
            throw new InvalidMediaException(
                $"The {FormatName} image is {width}x{height} = {pixels:N0} pixels, over the limit of {MaxPixels:N0} (ImageDecodeOptions.MaxPixels, a guard against decompression bombs).",
                MediaType);
        }

        // The decoded frame and the intermediates are single arrays: 4 bytes per pixel must fit.
        if (pixels * 4 > Array.MaxLength || width > int.MaxValue / 4)
        {
            throw new InvalidMediaException($"The {FormatName} image is {width}x{height}, too large to decode into one buffer.", MediaType);
        }
    }

    /// <summary>
    /// Checks the working memory a decode will allocate (decoded frame, row and strip buffers) against a budget of
    /// <see cref="MaxPixels"/> × 8 bytes — the largest format (16-bit RGBA) at the pixel limit — so that a tiny file
    /// declaring a huge, wide or deep image cannot make the decoder allocate gigabytes before its data runs out.
    /// </summary>
    public void CheckWorkingMemory(long bytes, string what)
    {
        var budget = MaxPixels > long.MaxValue / 8 ? long.MaxValue : MaxPixels * 8;
        if (bytes < 0 || bytes > budget || bytes > Array.MaxLength)
        {
            throw new InvalidMediaException(
                $"The {FormatName} image needs {bytes:N0} bytes for {what}, over the budget of {budget:N0} bytes that ImageDecodeOptions.MaxPixels ({MaxPixels:N0}) allows.",
                MediaType);
        }
    }
}
