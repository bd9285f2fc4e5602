// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Server.Internal;

/// <summary>Turns the request's <c>messages</c> into Microsoft.Extensions.AI messages, decoding inline media and counting it against the limits.</summary>
/// <remarks>
/// Parts: <c>text</c>; <c>image_url</c> (base64 <c>data:</c> URL, or <c>http(s)</c> when allowed) as <see cref="ImageContent"/>;
/// vLLM's <c>video_url</c> (with an optional <c>num_frames</c>, sampled uniformly) as <see cref="VideoContent"/>;
/// <c>file</c> with a PDF in <c>file_data</c> (a data URL or raw base64, with an optional <c>pages</c> selection) as <see cref="PdfContent"/>.
/// </remarks>
internal sealed class MessageReader(ServedModel model, MultimodalServerOptions options, RemoteMediaFetcher fetcher)
{
    private int _images;
    private long _pages;
    private long _frames;

    public async Task<List<ChatMessage>> ReadAsync(JsonElement root, CancellationToken cancellationToken)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw ApiError.BadRequest("'messages' is required: an array of {\"role\", \"content\"} objects.", "messages", "missing_required_parameter");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw ApiError.BadRequest("'messages' must be an array.", "messages", "invalid_type");
        }

        if (messages.GetArrayLength() == 0)
        {
            throw ApiError.BadRequest("'messages' must hold at least one message.", "messages", "invalid_value");
        }

        var result = new List<ChatMessage>(messages.GetArrayLength());
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            result.Add(await ReadMessageAsync(message, $"messages[{index}]", cancellationToken).ConfigureAwait(false));
            index++;
        }

        return result;
    }

    private async Task<ChatMessage> ReadMessageAsync(JsonElement message, string path, CancellationToken cancellationToken)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest($"'{path}' must be an object with 'role' and 'content'.", path, "invalid_type");
        }

        var role = ReadRole(message, path);
        var contents = new List<AIContent>();
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            // An assistant turn may have no content (OpenAI allows it beside tool calls); the others need some.
            if (role != ChatRole.Assistant)
            {
                throw ApiError.BadRequest($"'{path}.content' is required.", $"{path}.content", "missing_required_parameter");
            }
        }
        else if (content.ValueKind == JsonValueKind.String)
        {
            contents.Add(new TextContent(content.GetString()));
        }
        else if (content.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var part in content.EnumerateArray())
            {
                contents.Add(await ReadPartAsync(part, $"{path}.content[{index}]", cancellationToken).ConfigureAwait(false));
                index++;
            }
        }
        else
        {
            throw ApiError.BadRequest($"'{path}.content' must be a string or an array of content parts.", $"{path}.content", "invalid_type");
        }

        var chatMessage = new ChatMessage(role, contents);
        if (message.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            chatMessage.AuthorName = name.GetString();
        }

        return chatMessage;
    }

    private static ChatRole ReadRole(JsonElement message, string path)
    {
        if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
        {
            throw ApiError.BadRequest($"'{path}.role' is required: system, user or assistant.", $"{path}.role", "missing_required_parameter");
        }

        return role.GetString() switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" or "function" => throw ApiError.BadRequest($"'{path}.role' is '{role.GetString()}': tool and function calls are not supported by this server.", $"{path}.role", "unsupported_value"),
            var other => throw ApiError.BadRequest($"'{path}.role' must be system, user or assistant; got '{other}'.", $"{path}.role", "invalid_value"),
        };
    }

    private async Task<AIContent> ReadPartAsync(JsonElement part, string path, CancellationToken cancellationToken)
    {
        if (part.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest($"'{path}' must be an object with a 'type'.", path, "invalid_type");
        }

        if (!part.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
        {
            throw ApiError.BadRequest($"'{path}.type' is required: text, image_url, video_url or file.", $"{path}.type", "missing_required_parameter");
        }

        var type = typeElement.GetString();
        switch (type)
        {
            case "text":
                if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    throw ApiError.BadRequest($"'{path}.text' must be a string.", $"{path}.text", "invalid_type");
                }

                return new TextContent(text.GetString());
            case "image_url":
                return await ReadImageAsync(part, path, cancellationToken).ConfigureAwait(false);
            case "video_url":
                return await ReadVideoAsync(part, path, cancellationToken).ConfigureAwait(false);
            case "file":
                return ReadPdf(part, path);
            default:
                throw ApiError.BadRequest(
                    $"Content part type '{type}' in '{path}' is not supported. Use text, image_url (base64 data: URL), video_url or file (a PDF).",
                    $"{path}.type",
                    "unsupported_content_type");
        }
    }

    private async Task<AIContent> ReadImageAsync(JsonElement part, string path, CancellationToken cancellationToken)
    {
        var (url, urlPath) = ReadUrl(part, "image_url", path);
        if (++_images > options.MaxImagesPerRequest)
        {
            throw OverLimit(options.MaxImagesPerRequest, "images", "MaxImagesPerRequest", "--max-images", "too_many_images");
        }

        var (bytes, mediaType) = await ReadMediaAsync(url, urlPath, cancellationToken).ConfigureAwait(false);
        if (mediaType is not null && !MediaTypes.HasTopLevelType(mediaType, "image") && mediaType != "application/octet-stream")
        {
            throw ApiError.BadRequest($"'{urlPath}' holds '{mediaType}', not an image. Send image/* data, or use a video_url or file part.", urlPath, "invalid_media_type");
        }

        return ImageContent.FromBytes(bytes, mediaType is null || mediaType == "application/octet-stream" ? null : mediaType);
    }

    private async Task<AIContent> ReadVideoAsync(JsonElement part, string path, CancellationToken cancellationToken)
    {
        var (url, urlPath) = ReadUrl(part, "video_url", path);
        int? frames = null;
        if (part.GetProperty("video_url") is { ValueKind: JsonValueKind.Object } video)
        {
            var count = ChatCompletionRequest.ReadInteger(video, "num_frames", $"{path}.video_url.num_frames");
            if (count is < 1 or > int.MaxValue)
            {
                throw ApiError.BadRequest($"'{path}.video_url.num_frames' must be at least 1; got {count}.", $"{path}.video_url.num_frames", "invalid_value");
            }

            frames = (int?)count;
        }

        // Uniform sampling yields at most num_frames frames (fewer when the video is shorter), or the model's default count.
        _frames += frames ?? model.DefaultVideoFrames ?? 0;
        if (_frames > options.MaxVideoFramesPerRequest)
        {
            throw OverLimit(options.MaxVideoFramesPerRequest, "video frames", "MaxVideoFramesPerRequest", "--max-video-frames", "too_many_video_frames", " Ask for fewer with video_url.num_frames.");
        }

        var (bytes, mediaType) = await ReadMediaAsync(url, urlPath, cancellationToken).ConfigureAwait(false);
        if (mediaType is not null && !MediaTypes.HasTopLevelType(mediaType, "video") && mediaType != "application/octet-stream")
        {
            throw ApiError.BadRequest($"'{urlPath}' holds '{mediaType}', not a video. Send video/* data.", urlPath, "invalid_media_type");
        }

        var source = MediaSource.FromBytes(bytes, mediaType is null || mediaType == "application/octet-stream" ? null : mediaType);
        return new VideoContent(source, frames is { } n ? FrameSampling.Uniform(n) : null);
    }

    private AIContent ReadPdf(JsonElement part, string path)
    {
        if (!part.TryGetProperty("file", out var file) || file.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest($"'{path}.file' must be an object with 'file_data' (a base64 PDF).", $"{path}.file", "invalid_type");
        }

        if (!file.TryGetProperty("file_data", out var data) || data.ValueKind != JsonValueKind.String)
        {
            var hasId = file.TryGetProperty("file_id", out var id) && id.ValueKind == JsonValueKind.String;
            throw ApiError.BadRequest(
                hasId ? $"'{path}.file.file_id' is not supported: this server has no file storage. Send the PDF inline in 'file_data'." : $"'{path}.file.file_data' is required: the PDF as base64 or a data:application/pdf;base64,… URL.",
                $"{path}.file.file_data",
                hasId ? "unsupported_value" : "missing_required_parameter");
        }

        var dataPath = $"{path}.file.file_data";
        ReadOnlyMemory<byte> bytes;
        switch (MediaData.Classify(data, out var scheme))
        {
            case MediaData.UrlKind.Data:
                bytes = MediaData.DecodeDataUrl(data, dataPath, out var mediaType);
                if (mediaType is not null && mediaType != MediaTypes.Pdf && mediaType != "application/octet-stream")
                {
                    throw ApiError.BadRequest($"'{dataPath}' holds '{mediaType}'; file parts take PDF documents (application/pdf). Send images as image_url parts.", dataPath, "invalid_media_type");
                }

                break;
            case MediaData.UrlKind.NoScheme:
                bytes = MediaData.DecodeRawBase64(data, dataPath);
                break;
            default:
                throw ApiError.BadRequest($"'{dataPath}' must hold the document itself (base64 or a data: URL), not a '{scheme}:' URL.", dataPath, "invalid_url");
        }

        // The page selection is our extension; accept it on the part or inside "file".
        var pagesPath = $"{path}.file.pages";
        if (!file.TryGetProperty("pages", out var pagesElement) || pagesElement.ValueKind == JsonValueKind.Null)
        {
            pagesPath = $"{path}.pages";
            part.TryGetProperty("pages", out pagesElement);
        }

        PageSelection? pages = null;
        if (pagesElement.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            var text = pagesElement.ValueKind switch
            {
                JsonValueKind.String => pagesElement.GetString()!,
                JsonValueKind.Number => pagesElement.GetRawText(),
                _ => throw ApiError.BadRequest($"'{pagesPath}' must be a page selection such as \"1-3\" or \"2,4,10-12\".", pagesPath, "invalid_type"),
            };
            try
            {
                pages = PageSelection.Parse(text);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                throw ApiError.BadRequest($"'{pagesPath}': {ex.Message}", pagesPath, "invalid_value");
            }
        }

        // A bounded selection is counted here; the pages of an open-ended one are counted by the model while it renders them.
        if (CountPages(pages) is { } count)
        {
            _pages += count;
            if (_pages > options.MaxPdfPagesPerRequest)
            {
                throw OverLimit(options.MaxPdfPagesPerRequest, "PDF pages", "MaxPdfPagesPerRequest", "--max-pdf-pages", "too_many_pdf_pages", " Select fewer with the file part's \"pages\" (for example \"1-3\").");
            }
        }

        return new PdfContent(MediaSource.FromBytes(bytes, MediaTypes.Pdf), pages);
    }

    /// <summary>Counts the pages a selection names, or returns <see langword="null"/> when it runs to the end of the document.</summary>
    internal static long? CountPages(PageSelection? selection)
    {
        if (selection is null || ReferenceEquals(selection, PageSelection.All))
        {
            return null;
        }

        // The selection parsed, so every part is "n" or "a-b" or "a-".
        var ranges = new List<(long First, long Last)>();
        foreach (var raw in selection.Text.Split(','))
        {
            var part = raw.Trim();
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                var page = long.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
                ranges.Add((page, page));
            }
            else if (part[(dash + 1)..].Trim().Length == 0)
            {
                return null;
            }
            else
            {
                ranges.Add((long.Parse(part[..dash].Trim(), NumberStyles.None, CultureInfo.InvariantCulture), long.Parse(part[(dash + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture)));
            }
        }

        // Overlapping ranges count once.
        ranges.Sort();
        long total = 0;
        long end = 0;
        foreach (var (first, last) in ranges)
        {
            var from = Math.Max(first, end + 1);
            if (last >= from)
            {
                total += last - from + 1;
                end = last;
            }
        }

        return total;
    }

    private static (JsonElement Url, string Path) ReadUrl(JsonElement part, string member, string path)
    {
        if (!part.TryGetProperty(member, out var holder))
        {
            throw ApiError.BadRequest($"'{path}.{member}' is required.", $"{path}.{member}", "missing_required_parameter");
        }

        // {"url": "..."} as OpenAI sends it; a bare string as some clients do.
        if (holder.ValueKind == JsonValueKind.String)
        {
            return (holder, $"{path}.{member}");
        }

        if (holder.ValueKind != JsonValueKind.Object || !holder.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
        {
            throw ApiError.BadRequest($"'{path}.{member}.url' is required: a base64 data: URL.", $"{path}.{member}.url", "missing_required_parameter");
        }

        return (url, $"{path}.{member}.url");
    }

    private async Task<(ReadOnlyMemory<byte> Bytes, string? MediaType)> ReadMediaAsync(JsonElement url, string path, CancellationToken cancellationToken)
    {
        switch (MediaData.Classify(url, out var scheme))
        {
            case MediaData.UrlKind.Data:
                var bytes = MediaData.DecodeDataUrl(url, path, out var mediaType);
                return (bytes, mediaType);
            case MediaData.UrlKind.Http when options.AllowRemoteMediaUrls:
                if (!Uri.TryCreate(url.GetString(), UriKind.Absolute, out var uri))
                {
                    throw ApiError.BadRequest($"'{path}' is not a valid URL.", path, "invalid_url");
                }

                return await fetcher.FetchAsync(uri, path, cancellationToken).ConfigureAwait(false);
            case MediaData.UrlKind.Http:
                throw ApiError.BadRequest(
                    $"'{path}' is an {scheme} URL, and this server does not download media. Send the bytes inline as a base64 data: URL, or start the server with AllowRemoteMediaUrls (multimodal serve --allow-remote-urls).",
                    path,
                    "remote_media_disabled");
            case MediaData.UrlKind.OtherScheme:
                throw ApiError.BadRequest($"'{path}' uses the '{scheme}:' scheme, which this server never reads. Send the bytes inline as a base64 data: URL.", path, "invalid_url");
            default:
                throw ApiError.BadRequest($"'{path}' must be a base64 data: URL (data:<media type>;base64,<data>).", path, "invalid_url");
        }
    }

    private static ApiError OverLimit(int limit, string noun, string option, string flag, string code, string? advice = null) =>
        ApiError.BadRequest($"The request has more than {limit} {noun}; this server accepts at most {limit} per request ({option}, multimodal serve {flag}).{advice}", "messages", code);
}
