// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Multimodal.Backends.Remote.Internal;

namespace Multimodal.Backends.Remote;

/// <summary>Settings of a <see cref="RemoteChatClient"/>: where the engine is, which model to ask for, how long to wait, how often to retry, and how PDFs and videos are sent.</summary>
/// <remarks>
/// <para>The client copies the options when it is created; later changes to this instance do not affect it.
/// <see cref="Validate"/> lists what is wrong, naming each option; the client's constructor and the dependency
/// injection registration both run it.</para>
/// <code>
/// var options = new RemoteChatClientOptions
/// {
///     Endpoint = new Uri("http://gpu-box:8000/v1"),
///     Model = "rhymes-ai/Aria",
///     MaxImagesPerRequest = 16,                    // match the engine's --limit-mm-per-prompt
/// };
/// options.ExtraBody["mm_processor_kwargs"] = new Dictionary&lt;string, object?&gt; { ["split_image"] = true };
/// </code>
/// </remarks>
public sealed class RemoteChatClientOptions
{
    /// <summary>Gets or sets the engine's OpenAI-compatible base address, the one that ends in <c>/v1</c> (for example <c>http://localhost:8000/v1</c>); requests go to <c>{Endpoint}/chat/completions</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Gets or sets the model name the engine serves (vLLM's <c>--served-model-name</c>, by default the checkpoint id such as <c>llava-hf/llava-1.5-7b-hf</c>).</summary>
    /// <remarks><see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/> overrides it for one request.</remarks>
    public string? Model { get; set; }

    /// <summary>Gets or sets the API key sent as <c>Authorization: Bearer …</c> (vLLM's <c>--api-key</c>); <see langword="null"/> sends no header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Gets or sets how long one attempt may wait for the engine.</summary>
    /// <value>The default is 5 minutes.</value>
    /// <remarks>
    /// A non-streaming attempt must finish within this time. A streaming attempt must receive the response headers
    /// within it, and then each further piece of the stream within it (an idle timeout), so a long reply that keeps
    /// arriving is never cut off; time the caller spends on an update before asking for the next does not count.
    /// A non-streaming reply may be at most 64 MiB. Running out of time throws <see cref="TimeoutException"/>; it is not retried.
    /// </remarks>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how many times a failed attempt is repeated: after HTTP 429, 502, 503 or 504, or a connection failure before any response arrived.</summary>
    /// <value>The default is 3 (so at most 4 attempts); 0 turns retries off.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Gets or sets the wait before the first retry; each further retry waits about twice as long, with random jitter.</summary>
    /// <value>The default is 500 milliseconds.</value>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Gets or sets the longest wait between two attempts, including a server's <c>Retry-After</c>.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how PDF parts are sent.</summary>
    /// <value>The default is <see cref="RemotePdfMode.Images"/>, which every vision engine understands.</value>
    public RemotePdfMode PdfMode { get; set; } = RemotePdfMode.Images;

    /// <summary>Gets or sets the zoom (relative to 72 dpi) at which PDF pages are rendered in <see cref="RemotePdfMode.Images"/> mode, unless a <see cref="PdfContent"/> sets its own.</summary>
    /// <value>The default is 2 (144 dpi), as in Aria's PDF recipe.</value>
    public double PdfZoom { get; set; } = 2.0;

    /// <summary>Gets or sets whether each rendered page is introduced by the text <c>Page {n}: </c> and followed by a line break, as in Aria's PDF recipe (n is the page's number in the document).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool LabelPdfPages { get; set; } = true;

    /// <summary>Gets or sets how video parts are sent.</summary>
    /// <value>The default is <see cref="RemoteVideoMode.Images"/>: frames are sampled here and sent as images, which works with image-only models.</value>
    public RemoteVideoMode VideoMode { get; set; } = RemoteVideoMode.Images;

    /// <summary>Gets or sets how many frames are sampled uniformly from a video whose <see cref="VideoContent.Sampling"/> is not set (and the <c>num_frames</c> sent in <see cref="RemoteVideoMode.PassThrough"/> mode).</summary>
    /// <value>The default is 8.</value>
    public int VideoFrames { get; set; } = 8;

    /// <summary>Gets or sets whether each sampled frame is introduced by its time as <c>[MM:SS]</c> and followed by a line break, as in Aria's video cookbook.</summary>
    /// <value>The default is <see langword="false"/>: frames are sent as plain images.</value>
    public bool LabelVideoFrames { get; set; }

    /// <summary>Gets or sets the most images one request may carry, PDF pages and video frames included; a larger request fails before anything is sent.</summary>
    /// <value>The default is 64.</value>
    /// <remarks>
    /// Match it to the engine: vLLM refuses requests over its <c>--limit-mm-per-prompt</c> (older releases allow one
    /// image per prompt unless told otherwise; recent ones allow as many as the model supports). Failing here names
    /// the limit and costs no rendering or upload.
    /// </remarks>
    public int MaxImagesPerRequest { get; set; } = 64;

    /// <summary>Gets fields added to every request body at the top level, for engine-specific parameters such as vLLM's
    /// <c>mm_processor_kwargs</c>, <c>repetition_penalty</c> or <c>chat_template_kwargs</c>.</summary>
    /// <remarks>
    /// Values may be strings, numbers, booleans, <see langword="null"/>, <see cref="System.Text.Json.JsonElement"/>,
    /// <see cref="System.Text.Json.Nodes.JsonNode"/>, dictionaries with string keys and sequences of these. A field
    /// of the same name in <see cref="Microsoft.Extensions.AI.ChatOptions.AdditionalProperties"/> wins over the one
    /// here, and both win over the fields the client derives from <see cref="Microsoft.Extensions.AI.ChatOptions"/>.
    /// </remarks>
    public IDictionary<string, object?> ExtraBody { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Lists what is wrong with these options, one message per problem, each naming the option.</summary>
    /// <returns>The problems; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        var name = nameof(RemoteChatClientOptions);
        if (Endpoint is null)
        {
            failures.Add($"{name}.{nameof(Endpoint)} is required: the engine's OpenAI-compatible base address, such as http://localhost:8000/v1.");
        }
        else if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{name}.{nameof(Endpoint)} must be an absolute http or https address, such as http://localhost:8000/v1; it is '{Endpoint.OriginalString}'.");
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            failures.Add($"{name}.{nameof(Model)} is required: the model name the engine serves (for example llava-hf/llava-1.5-7b-hf).");
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{name}.{nameof(Timeout)} must be positive (or Timeout.InfiniteTimeSpan); it is {Format(Timeout)}.");
        }

        if (MaxRetries < 0)
        {
            failures.Add($"{name}.{nameof(MaxRetries)} must be 0 or more; it is {MaxRetries}.");
        }

        if (InitialBackoff <= TimeSpan.Zero)
        {
            failures.Add($"{name}.{nameof(InitialBackoff)} must be positive; it is {Format(InitialBackoff)}.");
        }

        if (MaxBackoff <= TimeSpan.Zero)
        {
            failures.Add($"{name}.{nameof(MaxBackoff)} must be positive; it is {Format(MaxBackoff)}.");
        }
        else if (MaxBackoff < InitialBackoff)
        {
            failures.Add($"{name}.{nameof(MaxBackoff)} ({Format(MaxBackoff)}) must not be shorter than {nameof(InitialBackoff)} ({Format(InitialBackoff)}).");
        }

        if (!Enum.IsDefined(PdfMode))
        {
            failures.Add($"{name}.{nameof(PdfMode)} must be {nameof(RemotePdfMode.Images)} or {nameof(RemotePdfMode.PassThrough)}; it is {PdfMode}.");
        }

        if (!double.IsFinite(PdfZoom) || PdfZoom < 0.1 || PdfZoom > 16)
        {
            failures.Add($"{name}.{nameof(PdfZoom)} must be between 0.1 and 16; it is {PdfZoom.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!Enum.IsDefined(VideoMode))
        {
            failures.Add($"{name}.{nameof(VideoMode)} must be {nameof(RemoteVideoMode.Images)} or {nameof(RemoteVideoMode.PassThrough)}; it is {VideoMode}.");
        }

        if (VideoFrames < 1)
        {
            failures.Add($"{name}.{nameof(VideoFrames)} must be 1 or more; it is {VideoFrames}.");
        }

        if (MaxImagesPerRequest < 1)
        {
            failures.Add($"{name}.{nameof(MaxImagesPerRequest)} must be 1 or more; it is {MaxImagesPerRequest}.");
        }

        foreach (var key in ExtraBody.Keys)
        {
            if (RequestWriterKeys.IsReserved(key))
            {
                failures.Add($"{name}.{nameof(ExtraBody)} must not set '{key}': the client writes it from the request.");
            }
        }

        return failures;
    }

    /// <summary>Copies the options (the <see cref="ExtraBody"/> dictionary too, not its values).</summary>
    /// <returns>The copy.</returns>
    internal RemoteChatClientOptions Clone()
    {
        var copy = new RemoteChatClientOptions
        {
            Endpoint = Endpoint,
            Model = Model,
            ApiKey = ApiKey,
            Timeout = Timeout,
            MaxRetries = MaxRetries,
            InitialBackoff = InitialBackoff,
            MaxBackoff = MaxBackoff,
            PdfMode = PdfMode,
            PdfZoom = PdfZoom,
            LabelPdfPages = LabelPdfPages,
            VideoMode = VideoMode,
            VideoFrames = VideoFrames,
            LabelVideoFrames = LabelVideoFrames,
            MaxImagesPerRequest = MaxImagesPerRequest,
        };

        foreach (var (key, value) in ExtraBody)
        {
            copy.ExtraBody[key] = value;
        }

        return copy;
    }

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}

/// <summary>How a <see cref="RemoteChatClient"/> sends PDF parts.</summary>
public enum RemotePdfMode
{
    /// <summary>Renders the selected pages here (with an <see cref="IPdfRasterizer"/>) and sends one PNG image per page; what vLLM and other image engines need.</summary>
    Images,

    /// <summary>Sends the PDF itself as an OpenAI <c>file</c> part (with a <c>pages</c> selection), for servers that render PDFs themselves, such as the Multimodal server.</summary>
    PassThrough,
}

/// <summary>How a <see cref="RemoteChatClient"/> sends video parts.</summary>
public enum RemoteVideoMode
{
    /// <summary>Samples frames here (with an <see cref="IVideoFrameSource"/>) and sends each as a PNG image; works with image-only models.</summary>
    Images,

    /// <summary>Sends the video file as a vLLM-style <c>video_url</c> data URL with <c>num_frames</c>, for engines and models that take videos.</summary>
    PassThrough,
}
