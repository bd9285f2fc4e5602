// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Multimodal.Preprocessing;

namespace Multimodal;

/// <summary>Turns one request's messages into a <see cref="PromptConversation"/>: decodes, splits, preprocesses and encodes every media part in order.</summary>
/// <remarks>The request's family options (<see cref="GenerationSettings.AdditionalProperties"/>, for example
/// <c>token_kept_ratio</c> or <c>max_slice_nums</c>) reach the splitter, with <see cref="ImageSplitOptionKeys.MediaKind"/>
/// telling it what it splits, and the vision encoder.</remarks>
internal sealed class RequestPreparation(ModelComponents components, MultimodalModelOptions options, ILogger logger, GenerationRequestInfo info, IProgress<ProgressReport>? progress = null, IReadOnlyDictionary<string, object?>? properties = null)
{
    private readonly List<IReadOnlyList<DenseTensor<float>>> _embeddings = [];
    private IReadOnlyDictionary<string, object?> _properties = properties ?? new Dictionary<string, object?>();
    private GenerationRequestInfo _info = info;
    private IProgress<ProgressReport>? _progress = progress;
    private int _images;
    private int _pages;
    private int _frames;

    /// <summary>How many decoded video frames are preprocessed and encoded together (and at most held at once).</summary>
    internal const int VideoEncodeBatch = 16;

    /// <summary>Starts another request on the same preparation (a chat session's next turn): earlier visual inputs keep their indices and embeddings, and the media limits count the whole conversation.</summary>
    public void BeginRequest(GenerationRequestInfo requestInfo, IReadOnlyDictionary<string, object?> requestProperties, IProgress<ProgressReport>? requestProgress)
    {
        _info = requestInfo;
        _properties = requestProperties;
        _progress = requestProgress;
    }

    /// <summary>Resolves every message part; visual parts are encoded at once so their token counts are known to the template.</summary>
    public async Task<PromptConversation> PrepareAsync(IEnumerable<ChatMessage> messages, CancellationToken cancellationToken)
    {
        var result = new List<PromptMessage>();
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            var parts = new List<PromptPart>();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent text:
                        if (!string.IsNullOrEmpty(text.Text))
                        {
                            parts.Add(new PromptTextPart(text.Text));
                        }

                        break;
                    case ImageContent image:
                        parts.Add(await PrepareImageAsync(image, cancellationToken).ConfigureAwait(false));
                        break;
                    case PdfContent pdf:
                        await PreparePdfAsync(pdf, parts, cancellationToken).ConfigureAwait(false);
                        break;
                    case VideoContent video:
                        parts.Add(await PrepareVideoAsync(video, cancellationToken).ConfigureAwait(false));
                        break;
                    case DataContent data when data.HasTopLevelMediaType("image"):
                        parts.Add(await PrepareImageAsync(ImageContent.FromBytes(data.Data, data.MediaType), cancellationToken).ConfigureAwait(false));
                        break;
                    case DataContent data when data.MediaType.Equals(MediaTypes.Pdf, StringComparison.OrdinalIgnoreCase):
                        await PreparePdfAsync(new PdfContent(MediaSource.FromBytes(data.Data, data.MediaType)), parts, cancellationToken).ConfigureAwait(false);
                        break;
                    case DataContent data when data.HasTopLevelMediaType("video"):
                        parts.Add(await PrepareVideoAsync(new VideoContent(MediaSource.FromBytes(data.Data, data.MediaType)), cancellationToken).ConfigureAwait(false));
                        break;
                    case DataContent data:
                        throw new UnsupportedRequestException($"Content of media type '{data.MediaType}' is not supported. Send images (image/*), PDFs (application/pdf) or videos (video/*).", "messages");
                    case UriContent uri:
                        throw new UnsupportedRequestException($"Remote content ({uri.Uri}) is not fetched by a local model. Download it and pass the bytes as DataContent, or use ImageContent.FromFile for a local file.", "messages");
                    case UsageContent:
                        break;
                    default:
                        Log.ContentIgnored(logger, content.GetType().Name);
                        break;
                }
            }

            result.Add(new PromptMessage(message.Role, parts));
        }

        return new PromptConversation(result);
    }

    /// <summary>Lays the template's tokens and the encoded views out as decoder input.</summary>
    public DecoderInput BuildDecoderInput(PromptTokens tokens, int hiddenSize)
    {
        var placed = new List<PlacedEmbeddings>();
        foreach (var span in tokens.VisualSpans)
        {
            var segment = span.Segment;
            if ((uint)segment.InputIndex >= (uint)_embeddings.Count)
            {
                throw new MultimodalException($"The prompt template referenced visual input #{segment.InputIndex}, but the request has {_embeddings.Count}.");
            }

            var views = _embeddings[segment.InputIndex];
            var offset = span.Offset;
            for (var v = segment.FirstView; v < segment.FirstView + segment.ViewCount; v++)
            {
                var embedding = views[v];
                if (embedding.Dimension(1) != hiddenSize)
                {
                    throw new MultimodalException($"Visual input #{segment.InputIndex} view {v} has {embedding.Dimension(1)}-wide embeddings; the language model needs {hiddenSize}.");
                }

                placed.Add(new PlacedEmbeddings(offset, embedding));
                offset += embedding.Dimension(0);
            }

            if (offset - span.Offset != segment.TokenCount)
            {
                throw new MultimodalException($"The prompt template reserved {segment.TokenCount} positions for visual input #{segment.InputIndex} but its views have {offset - span.Offset} tokens.");
            }
        }

        return new DecoderInput(tokens.Ids, placed);
    }

    private async Task<PromptVisualPart> PrepareImageAsync(ImageContent image, CancellationToken cancellationToken)
    {
        if (++_images > options.MaxImagesPerRequest)
        {
            throw new UnsupportedRequestException($"The request has more than {options.MaxImagesPerRequest} images (MaxImagesPerRequest). Send fewer images or raise the limit.", "messages");
        }

        RequireEncoder("images");
        var start = Stopwatch.GetTimestamp();
        ImageFrame frame;
        if (image.Pixels is { } pixels)
        {
            frame = pixels;
        }
        else
        {
            var decoder = components.ImageDecoder ?? throw new UnsupportedRequestException(
                "The request has an encoded image but no image decoder is configured. Add an image decoder (UseImageDecoder or a media package), or pass decoded pixels with ImageContent.FromPixels.",
                "messages");
            try
            {
                frame = await decoder.DecodeAsync(image.Source!, null, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidMediaException ex) when (image.Source!.Path is { } path && !ex.Message.Contains(path, StringComparison.Ordinal))
            {
                // Name the file: a request may carry several.
                throw new InvalidMediaException($"'{path}': {ex.Message}", ex.MediaType, ex);
            }
        }

        var split = components.ImageSplitter?.Split(frame, SplitOptions(VisualInputKind.Image)) ?? ImageSplit.Single(frame);
        _info.Preprocess += Stopwatch.GetElapsedTime(start);
        var input = await EncodeAsync(VisualInputKind.Image, split.Views, split.GridRows, split.GridColumns, cancellationToken).ConfigureAwait(false);
        _progress?.Report(new ProgressReport($"Image {_images} encoded ({input.Views.Count} views, {input.TokenCount} tokens)"));
        return new PromptVisualPart(input);
    }

    private async Task PreparePdfAsync(PdfContent pdf, List<PromptPart> parts, CancellationToken cancellationToken)
    {
        RequireEncoder("PDF documents");
        var rasterizer = components.PdfRasterizer ?? throw new UnsupportedRequestException("The request has a PDF but no PDF rasteriser is configured. Add one with UsePdfRasterizer or the PDF media package.", "messages");
        var start = Stopwatch.GetTimestamp();
        await foreach (var page in rasterizer.RenderPagesAsync(pdf, options.DefaultPdfZoom, cancellationToken).ConfigureAwait(false))
        {
            if (++_pages > options.MaxPdfPagesPerRequest)
            {
                throw new UnsupportedRequestException($"The request has more than {options.MaxPdfPagesPerRequest} PDF pages (MaxPdfPagesPerRequest). Select fewer pages (PdfContent pages, e.g. \"1-9\") or raise the limit.", "messages");
            }

            var split = components.ImageSplitter?.Split(page.Image, SplitOptions(VisualInputKind.PdfPage)) ?? ImageSplit.Single(page.Image);
            _info.Preprocess += Stopwatch.GetElapsedTime(start);
            var input = await EncodeAsync(VisualInputKind.PdfPage, split.Views, split.GridRows, split.GridColumns, cancellationToken).ConfigureAwait(false);
            parts.Add(new PromptVisualPart(input with { PageNumber = page.PageNumber }));
            _progress?.Report(new ProgressReport($"PDF page {page.PageNumber} encoded"));
            start = Stopwatch.GetTimestamp();
        }
    }

    private async Task<PromptVisualPart> PrepareVideoAsync(VideoContent video, CancellationToken cancellationToken)
    {
        RequireEncoder("videos");
        var source = components.VideoFrameSource ?? throw new UnsupportedRequestException("The request has a video but no video frame source is configured. Add one with UseVideoFrameSource or the video media package.", "messages");
        var sampling = video.Sampling ?? FrameSampling.Uniform(options.DefaultVideoFrames);

        // Frames are preprocessed and encoded in batches as they are decoded, so that a long video (thousands of frames)
        // never holds more than one batch of decoded frames: only the encoder's outputs are kept.
        var batch = new List<VideoFrame>(VideoEncodeBatch);
        var embeddings = new List<DenseTensor<float>>();
        var visualViews = new List<VisualView>();
        var start = Stopwatch.GetTimestamp();
        await foreach (var frame in source.ReadFramesAsync(video, sampling, cancellationToken).ConfigureAwait(false))
        {
            if (++_frames > options.MaxVideoFramesPerRequest)
            {
                throw new UnsupportedRequestException($"The request has more than {options.MaxVideoFramesPerRequest} video frames (MaxVideoFramesPerRequest). Sample fewer frames or raise the limit.", "messages");
            }

            batch.Add(frame);
            if (batch.Count == VideoEncodeBatch)
            {
                _info.Preprocess += Stopwatch.GetElapsedTime(start);
                await EncodeFramesAsync(batch, embeddings, visualViews, cancellationToken).ConfigureAwait(false);
                _progress?.Report(new ProgressReport($"{embeddings.Count} video frames encoded"));
                start = Stopwatch.GetTimestamp();
            }
        }

        _info.Preprocess += Stopwatch.GetElapsedTime(start);
        if (batch.Count > 0)
        {
            await EncodeFramesAsync(batch, embeddings, visualViews, cancellationToken).ConfigureAwait(false);
        }

        if (embeddings.Count == 0)
        {
            throw new InvalidMediaException("The video yielded no frames; it may be empty or the sampling selected none.", video.Source.MediaType);
        }

        _progress?.Report(new ProgressReport($"Video: {embeddings.Count} frames encoded"));
        var input = new VisualInput(_embeddings.Count, VisualInputKind.Video, visualViews, 0, 0);
        _embeddings.Add(embeddings);
        Log.VisualInputPrepared(logger, VisualInputKind.Video, input.Index, visualViews.Count, input.TokenCount);
        return new PromptVisualPart(input);
    }

    /// <summary>Encodes a batch of decoded frames, appends their embeddings and views, and empties the batch.</summary>
    private async Task EncodeFramesAsync(List<VideoFrame> batch, List<DenseTensor<float>> embeddings, List<VisualView> views, CancellationToken cancellationToken)
    {
        var merged = await EncodeViewsAsync([.. batch.Select(f => new ImageView(f.Image, ImageViewKind.Global))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < batch.Count; i++)
        {
            embeddings.Add(merged[i]);
            views.Add(new VisualView(ImageViewKind.Global, 0, 0, merged[i].Dimension(0)) { FrameIndex = batch[i].Index, Timestamp = batch[i].Timestamp });
        }

        batch.Clear();
    }

    private async Task<VisualInput> EncodeAsync(VisualInputKind kind, IReadOnlyList<ImageView> views, int rows, int columns, CancellationToken cancellationToken)
    {
        var merged = await EncodeViewsAsync(views, cancellationToken).ConfigureAwait(false);
        var index = _embeddings.Count;
        _embeddings.Add(merged);
        var visualViews = views.Select((v, i) => new VisualView(v.Kind, v.Row, v.Column, merged[i].Dimension(0))).ToList();
        var input = new VisualInput(index, kind, visualViews, rows, columns);
        Log.VisualInputPrepared(logger, kind, index, views.Count, input.TokenCount);
        return input;
    }

    /// <summary>Preprocesses and encodes views and applies the token merger: one embedding matrix per view.</summary>
    private async Task<DenseTensor<float>[]> EncodeViewsAsync(IReadOnlyList<ImageView> views, CancellationToken cancellationToken)
    {
        var encoder = components.VisionEncoder!;
        var start = Stopwatch.GetTimestamp();
        var tensors = new DenseTensor<float>[views.Count];
        for (var i = 0; i < views.Count; i++)
        {
            tensors[i] = components.ImageProcessor!.Process(views[i]);
        }

        _info.Preprocess += Stopwatch.GetElapsedTime(start);
        start = Stopwatch.GetTimestamp();
        var encodeOptions = components.LayerTokenMerger is null && _properties.Count == 0
            ? null
            : new VisionEncodeOptions { LayerMerger = components.LayerTokenMerger, AdditionalProperties = _properties };
        var outputs = await encoder.EncodeAsync(tensors, encodeOptions, cancellationToken).ConfigureAwait(false);
        if (outputs.Count != views.Count)
        {
            throw new MultimodalException($"The vision encoder returned {outputs.Count} outputs for {views.Count} views.");
        }

        var merged = new DenseTensor<float>[outputs.Count];
        for (var i = 0; i < outputs.Count; i++)
        {
            merged[i] = components.TokenMerger is { } merger ? Merge(merger, outputs[i]) : outputs[i];
        }

        _info.VisionEncode += Stopwatch.GetElapsedTime(start);
        return merged;
    }

    private Dictionary<string, object?> SplitOptions(VisualInputKind kind) => new(_properties, StringComparer.Ordinal)
    {
        [ImageSplitOptionKeys.MediaKind] = kind,
    };

    private static DenseTensor<float> Merge(ITokenMerger merger, DenseTensor<float> tokens)
    {
        // A square token count is taken to be a square grid (ViT patch grids are); otherwise the tokens have no grid.
        var n = tokens.Dimension(0);
        var side = (int)Math.Round(Math.Sqrt(n));
        var request = side * side == n ? new TokenMergeRequest(n, side, side) : new TokenMergeRequest(n);
        return merger.Plan(request).Apply(tokens);
    }

    private void RequireEncoder(string what)
    {
        if (components.VisionEncoder is null)
        {
            throw new UnsupportedRequestException($"This model has no vision encoder, so it cannot take {what}. Send text only, or load a vision-language model.", "messages");
        }
    }
}
