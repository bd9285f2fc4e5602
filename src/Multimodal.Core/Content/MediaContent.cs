// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal;

/// <summary>An image in a chat message: encoded bytes, a file, a stream, or already-decoded pixels.</summary>
/// <remarks>
/// Messages are Microsoft.Extensions.AI <see cref="ChatMessage"/>s; this part sits beside <see cref="TextContent"/>.
/// A <see cref="DataContent"/> whose media type is <c>image/*</c> is accepted too and treated the same way.
/// </remarks>
public sealed class ImageContent : AIContent
{
    private ImageContent(MediaSource? source, ImageFrame? pixels)
    {
        Source = source;
        Pixels = pixels;
    }

    /// <summary>Gets the encoded image, or <see langword="null"/> when <see cref="Pixels"/> is set.</summary>
    public MediaSource? Source { get; }

    /// <summary>Gets the decoded pixels, or <see langword="null"/> when the image still has to be decoded.</summary>
    public ImageFrame? Pixels { get; }

    /// <summary>Creates an image part from encoded bytes (JPEG, PNG, …).</summary>
    /// <param name="bytes">The encoded file.</param>
    /// <param name="mediaType">The media type, when known.</param>
    /// <returns>The part.</returns>
    public static ImageContent FromBytes(ReadOnlyMemory<byte> bytes, string? mediaType = null) => new(MediaSource.FromBytes(bytes, mediaType), null);

    /// <summary>Creates an image part from a file, read when the request runs.</summary>
    /// <param name="path">The image file.</param>
    /// <returns>The part.</returns>
    public static ImageContent FromFile(string path) => new(MediaSource.FromFile(path), null);

    /// <summary>Creates an image part from a stream, read when the request runs.</summary>
    /// <param name="stream">The stream positioned at the start of the file.</param>
    /// <param name="mediaType">The media type, when known.</param>
    /// <param name="leaveOpen">Whether the caller keeps ownership of the stream.</param>
    /// <returns>The part.</returns>
    public static ImageContent FromStream(Stream stream, string? mediaType = null, bool leaveOpen = true) => new(MediaSource.FromStream(stream, mediaType, leaveOpen), null);

    /// <summary>Creates an image part from decoded pixels; no decoder is involved.</summary>
    /// <param name="pixels">The pixels.</param>
    /// <returns>The part.</returns>
    public static ImageContent FromPixels(ImageFrame pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        return new(null, pixels);
    }
}

/// <summary>A PDF document in a chat message; selected pages are rasterised and given to the model as images.</summary>
public sealed class PdfContent : AIContent
{
    /// <summary>Initializes a PDF part.</summary>
    /// <param name="source">The PDF bytes, file or stream.</param>
    /// <param name="pages">Which pages to use; <see langword="null"/> for all.</param>
    public PdfContent(MediaSource source, PageSelection? pages = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
        Pages = pages ?? PageSelection.All;
    }

    /// <summary>Gets the PDF source.</summary>
    public MediaSource Source { get; }

    /// <summary>Gets the selected pages.</summary>
    public PageSelection Pages { get; }

    /// <summary>Gets or sets the password of an encrypted PDF.</summary>
    public string? Password { get; set; }

    /// <summary>Gets or sets the rendering zoom relative to 72 dpi; <see langword="null"/> uses the family's default (Aria's recipe renders at 2, i.e. 144 dpi).</summary>
    public double? Zoom { get; set; }

    /// <summary>Gets or sets a maximum for the longer side of each rendered page in pixels; <see langword="null"/> for none.</summary>
    public int? MaxLongSide { get; set; }
}

/// <summary>A video in a chat message; frames are sampled and given to the model.</summary>
public sealed class VideoContent : AIContent
{
    /// <summary>Initializes a video part.</summary>
    /// <param name="source">The video bytes, file or stream.</param>
    /// <param name="sampling">How to pick frames; <see langword="null"/> uses the family's default.</param>
    public VideoContent(MediaSource source, FrameSampling? sampling = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
        Sampling = sampling;
    }

    /// <summary>Gets the video source.</summary>
    public MediaSource Source { get; }

    /// <summary>Gets how frames are sampled; <see langword="null"/> means the family's default.</summary>
    public FrameSampling? Sampling { get; }
}
