// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.AI;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>Turns chat messages into wire messages, doing the media work locally: images become data URLs, PDF pages
/// and video frames are rendered or sampled into PNG images (or passed through as files), and the image count is
/// checked against <see cref="RemoteChatClientOptions.MaxImagesPerRequest"/> as it grows.</summary>
/// <remarks>One instance serves one request; it is not thread-safe.</remarks>
internal sealed class MediaIngestion
{
    private readonly RemoteChatClientOptions _options;
    private readonly IPdfRasterizer? _pdfRasterizer;
    private readonly IVideoFrameSource? _videoFrameSource;
    private readonly IImageDecoder? _imageDecoder;
    private int _images;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="options">The client's options.</param>
    /// <param name="pdfRasterizer">Renders PDF pages, when available.</param>
    /// <param name="videoFrameSource">Samples video frames, when available.</param>
    /// <param name="imageDecoder">Decodes image formats engines may not read (TIFF and others) so they can be sent as PNG, when available.</param>
    public MediaIngestion(RemoteChatClientOptions options, IPdfRasterizer? pdfRasterizer, IVideoFrameSource? videoFrameSource, IImageDecoder? imageDecoder)
    {
        _options = options;
        _pdfRasterizer = pdfRasterizer;
        _videoFrameSource = videoFrameSource;
        _imageDecoder = imageDecoder;
    }

    /// <summary>Gets the number of images produced so far.</summary>
    public int ImageCount => _images;

    /// <summary>Converts a conversation.</summary>
    /// <param name="messages">The messages.</param>
    /// <param name="instructions"><see cref="ChatOptions.Instructions"/>, sent as a leading system message; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels reading, rendering and sampling.</param>
    /// <returns>The wire messages.</returns>
    /// <exception cref="UnsupportedRequestException">A part cannot be sent (no decoder for a PDF or video, media outside a user message, an unsupported content type) or there are too many images.</exception>
    /// <exception cref="InvalidMediaException">A media part is empty, unreadable or of an unknown format.</exception>
    public async Task<List<WireMessage>> ConvertAsync(IEnumerable<ChatMessage> messages, string? instructions, CancellationToken cancellationToken)
    {
        var result = new List<WireMessage>();
        if (!string.IsNullOrEmpty(instructions))
        {
            result.Add(new WireMessage("system", null, [new WireText(instructions)]));
        }

        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            var role = RoleOf(message.Role);
            var parts = new List<WirePart>();
            foreach (var content in message.Contents)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await AddAsync(role, content, parts, cancellationToken).ConfigureAwait(false);
            }

            result.Add(new WireMessage(role, message.AuthorName, MergeText(parts)));
        }

        return result;
    }

    private async Task AddAsync(string role, AIContent content, List<WirePart> parts, CancellationToken cancellationToken)
    {
        switch (content)
        {
            case TextContent text:
                if (!string.IsNullOrEmpty(text.Text))
                {
                    parts.Add(new WireText(text.Text));
                }

                return;
            case UsageContent or TextReasoningContent:
                // Bookkeeping of earlier replies (usage, reasoning) is not part of the conversation an engine reads.
                return;
        }

        if (content is not (ImageContent or PdfContent or VideoContent or DataContent or UriContent))
        {
            throw new UnsupportedRequestException(
                $"A {role} message holds {Describe(content)}, which the remote client cannot send; it sends text, images, PDFs and videos (tools are not supported).",
                "messages");
        }

        if (role != "user")
        {
            throw new UnsupportedRequestException(
                $"A {role} message holds {Describe(content)}; OpenAI-compatible engines accept images, PDFs and videos only in user messages. Move the media into a user message.",
                "messages");
        }

        switch (content)
        {
            case ImageContent image:
                await AddImageAsync(image, parts, cancellationToken).ConfigureAwait(false);
                break;
            case PdfContent pdf:
                await AddPdfAsync(pdf, FileNameOf(pdf.Source), parts, cancellationToken).ConfigureAwait(false);
                break;
            case VideoContent video:
                await AddVideoAsync(video, parts, cancellationToken).ConfigureAwait(false);
                break;
            case DataContent data when data.HasTopLevelMediaType("image"):
                CountImage();
                parts.Add(await ImageFromBytesAsync(data.Data, data.MediaType, cancellationToken).ConfigureAwait(false));
                break;
            case DataContent data when string.Equals(ImageFormats.Bare(data.MediaType), MediaTypes.Pdf, StringComparison.Ordinal):
                await AddPdfAsync(new PdfContent(MediaSource.FromBytes(data.Data, MediaTypes.Pdf)), data.Name, parts, cancellationToken).ConfigureAwait(false);
                break;
            case DataContent data when data.HasTopLevelMediaType("video"):
                await AddVideoAsync(new VideoContent(MediaSource.FromBytes(data.Data, data.MediaType)), parts, cancellationToken).ConfigureAwait(false);
                break;
            case DataContent data:
                throw new UnsupportedRequestException(
                    $"A DataContent of type '{data.MediaType}' cannot be sent: the remote client sends images (image/*), PDFs (application/pdf) and videos (video/*).",
                    "messages");
            case UriContent uri:
                AddUri(uri, parts);
                break;
        }
    }

    private async Task AddImageAsync(ImageContent image, List<WirePart> parts, CancellationToken cancellationToken)
    {
        CountImage();
        if (image.Pixels is { } pixels)
        {
            parts.Add(new WireImageData(PngEncoder.Encode(pixels), "image/png"));
            return;
        }

        var source = image.Source!;
        var bytes = await source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
        parts.Add(await ImageFromBytesAsync(bytes, source.MediaType, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Sends encoded image bytes as they are, or as PNG when the format is one engines may not read and a decoder is at hand.</summary>
    private async ValueTask<WirePart> ImageFromBytesAsync(ReadOnlyMemory<byte> bytes, string? declared, CancellationToken cancellationToken)
    {
        if (bytes.IsEmpty)
        {
            throw new InvalidMediaException("An image part is empty (0 bytes).", declared);
        }

        if (declared is not null && ImageFormats.IsWidelySupported(declared))
        {
            return new WireImageData(bytes, ImageFormats.Bare(declared));
        }

        var sniffed = ImageFormats.Sniff(bytes.Span);
        if (sniffed is not null && ImageFormats.IsWidelySupported(sniffed))
        {
            return new WireImageData(bytes, sniffed);
        }

        if (_imageDecoder is not null)
        {
            var frame = await _imageDecoder.DecodeAsync(MediaSource.FromBytes(bytes, declared ?? sniffed), null, cancellationToken).ConfigureAwait(false);
            return new WireImageData(PngEncoder.Encode(frame), "image/png");
        }

        var mediaType = sniffed ?? (declared is not null && MediaTypes.HasTopLevelType(declared, "image") ? declared : null);
        return mediaType is not null
            ? new WireImageData(bytes, ImageFormats.Bare(mediaType))
            : throw new InvalidMediaException(
                "Cannot tell the format of an image part: its bytes are not PNG, JPEG, WebP, GIF, BMP or TIFF and no image media type was given. " +
                "Pass the media type, or give the client an IImageDecoder (Multimodal.Media.Images) to convert it to PNG.",
                declared);
    }

    private async Task AddPdfAsync(PdfContent pdf, string? fileName, List<WirePart> parts, CancellationToken cancellationToken)
    {
        if (_options.PdfMode == RemotePdfMode.PassThrough)
        {
            var bytes = await pdf.Source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
            var pages = ReferenceEquals(pdf.Pages, PageSelection.All) ? null : pdf.Pages.Text;
            parts.Add(new WireFile(bytes, string.IsNullOrWhiteSpace(fileName) ? "document.pdf" : fileName, pages));
            return;
        }

        if (_pdfRasterizer is null)
        {
            throw new UnsupportedRequestException(
                "The request has a PDF, which the remote client renders into page images locally (PdfMode Images), but no IPdfRasterizer was given. " +
                "Add the Multimodal.Media.Pdf package and pass new PdfRasterizer() to the RemoteChatClient (or call services.AddMultimodalPdf()), " +
                "or set RemoteChatClientOptions.PdfMode to PassThrough for a server that reads PDF files itself (such as the Multimodal server).",
                "messages");
        }

        await foreach (var page in _pdfRasterizer.RenderPagesAsync(pdf, _options.PdfZoom, cancellationToken).ConfigureAwait(false))
        {
            CountImage();
            if (_options.LabelPdfPages)
            {
                parts.Add(new WireText(string.Create(CultureInfo.InvariantCulture, $"Page {page.PageNumber}: ")));
            }

            parts.Add(new WireImageData(PngEncoder.Encode(page.Image), "image/png"));
            if (_options.LabelPdfPages)
            {
                parts.Add(new WireText("\n"));
            }
        }
    }

    private async Task AddVideoAsync(VideoContent video, List<WirePart> parts, CancellationToken cancellationToken)
    {
        if (_options.VideoMode == RemoteVideoMode.PassThrough)
        {
            var frames = video.Sampling switch
            {
                null => _options.VideoFrames,
                UniformFrameSampling uniform => uniform.Count,
                _ => throw new UnsupportedRequestException(
                    $"VideoMode PassThrough sends the video with a frame count only, so it cannot honour {video.Sampling.GetType().Name}. " +
                    "Use FrameSampling.Uniform(n), or VideoMode Images to sample the frames locally.",
                    "messages"),
            };

            var bytes = await video.Source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
            if (bytes.IsEmpty)
            {
                throw new InvalidMediaException("A video part is empty (0 bytes).", video.Source.MediaType);
            }

            parts.Add(new WireVideo(bytes, video.Source.MediaType is { } type ? ImageFormats.Bare(type) : "video/mp4", null, frames));
            return;
        }

        if (_videoFrameSource is null)
        {
            throw new UnsupportedRequestException(
                "The request has a video, whose frames the remote client samples locally (VideoMode Images), but no IVideoFrameSource was given. " +
                "Add the Multimodal.Media.Video package and pass new FfmpegVideoFrameSource() to the RemoteChatClient (or call services.AddMultimodalVideo()), " +
                "or set RemoteChatClientOptions.VideoMode to PassThrough for an engine that takes video_url parts.",
                "messages");
        }

        var sampling = video.Sampling ?? FrameSampling.Uniform(_options.VideoFrames);
        await foreach (var frame in _videoFrameSource.ReadFramesAsync(video, sampling, cancellationToken).ConfigureAwait(false))
        {
            CountImage();
            if (_options.LabelVideoFrames)
            {
                var t = frame.Timestamp;
                parts.Add(new WireText(string.Create(CultureInfo.InvariantCulture, $"[{(int)t.TotalMinutes:00}:{t.Seconds:00}]")));
            }

            parts.Add(new WireImageData(PngEncoder.Encode(frame.Image), "image/png"));
            if (_options.LabelVideoFrames)
            {
                parts.Add(new WireText("\n"));
            }
        }
    }

    private void AddUri(UriContent content, List<WirePart> parts)
    {
        var uri = content.Uri;
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UnsupportedRequestException(
                $"Only http and https addresses are passed to the engine; '{uri}' is not one. Read local files into ImageContent, PdfContent or VideoContent instead.",
                "messages");
        }

        if (content.HasTopLevelMediaType("image"))
        {
            CountImage();
            parts.Add(new WireImageUrl(uri.AbsoluteUri));
        }
        else if (content.HasTopLevelMediaType("video"))
        {
            // The engine fetches the video itself; there is nothing to sample here, whatever VideoMode says.
            parts.Add(new WireVideo(ReadOnlyMemory<byte>.Empty, ImageFormats.Bare(content.MediaType), uri.AbsoluteUri, _options.VideoFrames));
        }
        else
        {
            throw new UnsupportedRequestException(
                $"A UriContent of type '{content.MediaType}' ({uri}) cannot be sent: engines fetch only image and video addresses. Download it and pass the bytes (a PDF as PdfContent or DataContent).",
                "messages");
        }
    }

    private void CountImage()
    {
        if (++_images > _options.MaxImagesPerRequest)
        {
            throw new UnsupportedRequestException(
                $"The request has more than {_options.MaxImagesPerRequest} images (PDF pages and sampled video frames count as images), the limit set by RemoteChatClientOptions.MaxImagesPerRequest. " +
                "Send fewer pages (a PdfContent page selection) or frames, or raise the limit to match the engine's --limit-mm-per-prompt.",
                "messages");
        }
    }

    /// <summary>Joins neighbouring text parts, so that labels written around images ("\n" then "Page 2: ") reach the engine as one part.</summary>
    private static List<WirePart> MergeText(List<WirePart> parts)
    {
        var merged = new List<WirePart>(parts.Count);
        foreach (var part in parts)
        {
            if (part is WireText text && merged.Count > 0 && merged[^1] is WireText previous)
            {
                merged[^1] = new WireText(previous.Text + text.Text);
            }
            else
            {
                merged.Add(part);
            }
        }

        return merged;
    }

    private static string RoleOf(ChatRole role) =>
        role == ChatRole.System ? "system"
        : role == ChatRole.User ? "user"
        : role == ChatRole.Assistant ? "assistant"
        : role == ChatRole.Tool ? "tool"
        : role.Value;

    private static string? FileNameOf(MediaSource source) => source.Path is { } path ? Path.GetFileName(path) : null;

    private static string Describe(AIContent content) => content switch
    {
        ImageContent => "an image",
        DataContent d when d.HasTopLevelMediaType("image") => "an image",
        PdfContent => "a PDF",
        VideoContent => "a video",
        DataContent d => $"a DataContent of type '{d.MediaType}'",
        UriContent u => $"a UriContent ({u.Uri})",
        _ => $"a {content.GetType().Name}",
    };
}
