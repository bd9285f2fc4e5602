// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Decodes an encoded image (JPEG, PNG, WebP, …) into 8-bit pixels.</summary>
/// <remarks>Implementations are thread-safe: one instance serves concurrent requests.</remarks>
public interface IImageDecoder
{
    /// <summary>Decodes one image.</summary>
    /// <param name="source">The encoded image.</param>
    /// <param name="options">Decoding options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the decode.</param>
    /// <returns>The decoded pixels (<see cref="ImagePixelFormat.Rgb24"/> unless the options ask otherwise).</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, of an unsupported format, or over a limit.</exception>
    ValueTask<ImageFrame> DecodeAsync(MediaSource source, ImageDecodeOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Asks for an optional service, such as metadata about the codec library.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;
}

/// <summary>Options for <see cref="IImageDecoder"/>.</summary>
public sealed class ImageDecodeOptions
{
    /// <summary>Gets or sets the output layout.</summary>
    /// <value>The default is <see cref="ImagePixelFormat.Rgb24"/>, which drops alpha as Pillow's <c>convert("RGB")</c> does.</value>
    public ImagePixelFormat Format { get; set; } = ImagePixelFormat.Rgb24;

    /// <summary>Gets or sets whether EXIF orientation is applied.</summary>
    /// <value>The default is <see langword="false"/>, as in the reference implementations.</value>
    public bool ApplyExifOrientation { get; set; }

    /// <summary>Gets or sets the largest accepted pixel count (a decompression-bomb guard).</summary>
    /// <value>The default is 178,956,970 pixels, Pillow's <c>MAX_IMAGE_PIXELS</c> × 2.</value>
    public long MaxPixels { get; set; } = 178_956_970;
}

/// <summary>Renders pages of a PDF document to images.</summary>
/// <remarks>Implementations are thread-safe.</remarks>
public interface IPdfRasterizer
{
    /// <summary>Renders the selected pages in page order, one at a time, so that long documents never sit in memory whole.</summary>
    /// <param name="document">The PDF part, with its source, page selection, password and zoom.</param>
    /// <param name="defaultZoom">The zoom to use when the part does not set one.</param>
    /// <param name="cancellationToken">Cancels rendering.</param>
    /// <returns>The rendered pages, in ascending page order.</returns>
    /// <exception cref="InvalidMediaException">The document is corrupt, encrypted without a (correct) password, or a selected page does not exist.</exception>
    IAsyncEnumerable<RenderedPage> RenderPagesAsync(PdfContent document, double defaultZoom, CancellationToken cancellationToken = default);

    /// <summary>Asks for an optional service.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;
}

/// <summary>One rendered PDF page.</summary>
/// <param name="PageNumber">The 1-based page number.</param>
/// <param name="Image">The page on a white background, RGB.</param>
/// <param name="Text">The page's text layer, when the rasteriser extracted it.</param>
public sealed record RenderedPage(int PageNumber, ImageFrame Image, string? Text = null);

/// <summary>Reads sampled frames from a video.</summary>
/// <remarks>Implementations are thread-safe.</remarks>
public interface IVideoFrameSource
{
    /// <summary>Decodes the frames a sampling policy selects, in presentation order.</summary>
    /// <param name="video">The video part.</param>
    /// <param name="sampling">The sampling policy to use (the part's own, or the family's default).</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The frames, in ascending index order.</returns>
    /// <exception cref="InvalidMediaException">The video is corrupt, truncated or of an unsupported codec.</exception>
    IAsyncEnumerable<VideoFrame> ReadFramesAsync(VideoContent video, FrameSampling sampling, CancellationToken cancellationToken = default);

    /// <summary>Asks for an optional service.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;
}

/// <summary>One decoded video frame.</summary>
/// <param name="Index">The frame's index in presentation order, from 0.</param>
/// <param name="Timestamp">The frame's presentation time from the start of the video.</param>
/// <param name="Image">The frame as RGB pixels.</param>
public sealed record VideoFrame(int Index, TimeSpan Timestamp, ImageFrame Image);
