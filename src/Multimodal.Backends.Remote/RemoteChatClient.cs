// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Multimodal.Backends.Remote.Internal;

namespace Multimodal.Backends.Remote;

/// <summary>An <see cref="IChatClient"/> for OpenAI-compatible engines (vLLM, llama-server, the Multimodal server) that
/// takes the same messages as the in-process <see cref="MultimodalModel"/>: images, PDFs and videos are prepared here and
/// sent over <c>/v1/chat/completions</c>.</summary>
/// <remarks>
/// <para><b>Media.</b> <see cref="ImageContent"/> and <see cref="DataContent"/> images go out as <c>image_url</c> data URLs
/// with their original bytes (decoded pixels as PNG); http(s) <see cref="UriContent"/> images go out as addresses for the
/// engine to fetch. PDFs are rendered into one PNG per selected page with the <see cref="IPdfRasterizer"/>, each
/// introduced by <c>Page {n}: </c> as in Aria's recipe, or sent as a <c>file</c> part
/// (<see cref="RemoteChatClientOptions.PdfMode"/>). Videos are sampled into PNG frames with the
/// <see cref="IVideoFrameSource"/>, or sent as a <c>video_url</c> (<see cref="RemoteChatClientOptions.VideoMode"/>).
/// The number of images is checked against <see cref="RemoteChatClientOptions.MaxImagesPerRequest"/> before anything is sent.</para>
/// <para><b>Options.</b> <see cref="ChatOptions"/> map to the request body: <c>MaxOutputTokens</c> → <c>max_tokens</c>,
/// <c>Temperature</c>, <c>TopP</c> → <c>top_p</c>, <c>TopK</c> → <c>top_k</c>, <c>Seed</c>, <c>StopSequences</c> → <c>stop</c>,
/// <c>FrequencyPenalty</c>, <c>PresencePenalty</c>, <c>ResponseFormat</c> → <c>response_format</c>, <c>ModelId</c> overrides
/// <see cref="RemoteChatClientOptions.Model"/>, <c>Instructions</c> becomes a leading system message, and every
/// <c>AdditionalProperties</c> entry (<c>repetition_penalty</c>, <c>min_p</c>, <c>mm_processor_kwargs</c>, …) is written as a
/// top-level field. Tools are not supported.</para>
/// <para><b>Reliability.</b> HTTP 429, 502, 503 and 504 and connection failures before any response are retried up to
/// <see cref="RemoteChatClientOptions.MaxRetries"/> times with exponential backoff and jitter, honouring <c>Retry-After</c>
/// up to <see cref="RemoteChatClientOptions.MaxBackoff"/>. Nothing is retried once a response has begun, so a stream
/// never repeats text. A slow engine ends in <see cref="TimeoutException"/>, the caller's cancellation in
/// <see cref="OperationCanceledException"/> (and the HTTP request is aborted at once), and any error the engine reports
/// in <see cref="RemoteEngineException"/>.</para>
/// <para>Thread-safety: all members are thread-safe. Ownership: the client disposes the <see cref="HttpClient"/> it created,
/// never one it was given.</para>
/// <code>
/// using var client = new RemoteChatClient(
///     new RemoteChatClientOptions { Endpoint = new Uri("http://gpu-box:8000/v1"), Model = "rhymes-ai/Aria" },
///     pdfRasterizer: new PdfRasterizer());
/// var reply = await client.GetResponseAsync(
/// [
///     new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile("report.pdf"), PageSelection.Parse("1-3")), new TextContent("Summarise these pages.")]),
/// ]);
/// </code>
/// </remarks>
public sealed class RemoteChatClient : IChatClient
{
    /// <summary>The largest non-streaming reply accepted, so that a broken engine or proxy cannot make the client buffer without end.</summary>
    internal const int MaxReplyBytes = SseReader.MaxEventBytes;

    private readonly RemoteChatClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _completionsUri;
    private readonly IPdfRasterizer? _pdfRasterizer;
    private readonly IVideoFrameSource? _videoFrameSource;
    private readonly IImageDecoder? _imageDecoder;
    private readonly ILogger _logger;
    private readonly ChatClientMetadata _metadata;
    private int _disposed;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="options">Where the engine is and how to talk to it; copied, so later changes have no effect.</param>
    /// <param name="httpClient">The HTTP client to send with, which the caller keeps owning (its own <see cref="HttpClient.Timeout"/>
    /// still applies); <see langword="null"/> creates one with pooled connections that are renewed every few minutes.</param>
    /// <param name="pdfRasterizer">Renders PDF pages in <see cref="RemotePdfMode.Images"/> mode (Multimodal.Media.Pdf's <c>PdfRasterizer</c>); <see langword="null"/> when PDFs are not sent or passed through.</param>
    /// <param name="videoFrameSource">Samples video frames in <see cref="RemoteVideoMode.Images"/> mode (Multimodal.Media.Video's <c>FfmpegVideoFrameSource</c>); <see langword="null"/> when videos are not sent or passed through.</param>
    /// <param name="imageDecoder">Converts images in formats engines may not read (TIFF and other rarities) to PNG (Multimodal.Media.Images' <c>ImageDecoder</c>); <see langword="null"/> sends them as they are.</param>
    /// <param name="logger">Receives retries, refusals and timeouts; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names each bad option.</exception>
    public RemoteChatClient(
        RemoteChatClientOptions options,
        HttpClient? httpClient = null,
        IPdfRasterizer? pdfRasterizer = null,
        IVideoFrameSource? videoFrameSource = null,
        IImageDecoder? imageDecoder = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }

        _options = options.Clone();
        _pdfRasterizer = pdfRasterizer;
        _videoFrameSource = videoFrameSource;
        _imageDecoder = imageDecoder;
        _logger = logger ?? NullLogger.Instance;
        if (httpClient is null)
        {
            _http = CreateHttpClient();
            _ownsHttp = true;
        }
        else
        {
            _http = httpClient;
        }

        // "http://host:8000/v1" and "http://host:8000/v1/" both mean the API root; without the slash, a relative
        // "chat/completions" would replace "v1".
        var root = _options.Endpoint!.AbsoluteUri;
        Endpoint = new Uri(root.EndsWith('/') ? root : root + "/");
        _completionsUri = new Uri(Endpoint, "chat/completions");
        Model = _options.Model!;
        _metadata = new ChatClientMetadata("openai-compatible", Endpoint, Model);
    }

    /// <summary>Gets the engine's API root, always ending in a slash (for example <c>http://localhost:8000/v1/</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>Gets the default model name.</summary>
    public string Model { get; }

    /// <inheritdoc />
    /// <exception cref="UnsupportedRequestException">A part cannot be sent (a PDF or video without its decoder, media outside a user message, tools) or there are more images than <see cref="RemoteChatClientOptions.MaxImagesPerRequest"/>.</exception>
    /// <exception cref="InvalidMediaException">A media part is empty, unreadable, corrupt or of an unknown format.</exception>
    /// <exception cref="RemoteEngineException">The engine refused the request, failed, could not be reached, or sent something that is not a chat completion.</exception>
    /// <exception cref="TimeoutException">The engine did not answer within <see cref="RemoteChatClientOptions.Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var prepared = await PrepareAsync(messages, options, stream: false, cancellationToken).ConfigureAwait(false);
        using var attempt = await SendAsync(prepared, stream: false, cancellationToken).ConfigureAwait(false);
        ReadOnlyMemory<byte> body;
        try
        {
            body = await ReadReplyAsync(attempt.Response, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut(ex, streaming: false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Broken(ex);
        }

        var response = ResponseReader.ParseCompletion(body, Endpoint);
        response.ModelId ??= prepared.Model;
        response.ConversationId = options?.ConversationId;
        return response;
    }

    /// <inheritdoc />
    /// <remarks>The request asks for <c>stream_options.include_usage</c>, so the last update carries a <see cref="UsageContent"/>
    /// when the engine reports usage. The update with the finish reason comes before it.</remarks>
    /// <exception cref="UnsupportedRequestException">A part cannot be sent or there are too many images.</exception>
    /// <exception cref="InvalidMediaException">A media part is empty, unreadable, corrupt or of an unknown format.</exception>
    /// <exception cref="RemoteEngineException">The engine refused the request, reported an error in the stream, broke off the stream, or could not be reached.</exception>
    /// <exception cref="TimeoutException">The engine did not answer, or the stream stalled, for longer than <see cref="RemoteChatClientOptions.Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var prepared = await PrepareAsync(messages, options, stream: true, cancellationToken).ConfigureAwait(false);
        using var attempt = await SendAsync(prepared, stream: true, cancellationToken).ConfigureAwait(false);

        Stream stream;
        try
        {
            stream = await attempt.Response.Content.ReadAsStreamAsync(attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut(ex, streaming: true);
        }

        await using var disposeStream = stream.ConfigureAwait(false);
        var events = SseReader.ReadAsync(stream, attempt.RestartIdleTimer, attempt.Token).GetAsyncEnumerator(attempt.Token);
        await using var disposeEvents = events.ConfigureAwait(false);

        var done = false;
        var finished = false;
        var usageSent = false;
        UsageDetails? pendingUsage = null;
        ChatResponseUpdate? last = null;
        while (true)
        {
            SseEvent sse;
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false))
                {
                    break;
                }

                sse = events.Current;

                // The timeout bounds the engine, not the caller: while the caller holds this update, the clock stands still.
                attempt.PauseIdleTimer();
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(ex, streaming: true);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidDataException)
            {
                throw Broken(ex);
            }

            if (sse.IsDone)
            {
                done = true;
                break;
            }

            var chunk = ResponseReader.ParseChunk(sse.Data, Endpoint);
            var update = chunk.Update;
            update.ModelId ??= prepared.Model;
            update.ConversationId = options?.ConversationId;
            if (chunk.Usage is { } usage)
            {
                if (chunk.HasChoices)
                {
                    // Usage beside a choice is what llama-server sends with its last token; keep the latest and
                    // report it once at the end, so that an engine that repeats it per chunk is not counted twice.
                    pendingUsage = usage;
                }
                else
                {
                    update.Contents.Add(new UsageContent(usage));
                    usageSent = true;
                    pendingUsage = null;
                }
            }

            finished |= update.FinishReason is not null;
            last = update;
            yield return update;
        }

        if (!done && !finished)
        {
            throw new RemoteEngineException(
                $"The stream from the engine at {Endpoint} ended before the reply was complete (no finish reason and no [DONE]). The engine may have crashed or a proxy cut the connection.",
                attempt.Response.StatusCode);
        }

        if (!usageSent && pendingUsage is not null)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(pendingUsage)])
            {
                ResponseId = last?.ResponseId,
                MessageId = last?.MessageId,
                ModelId = last?.ModelId ?? prepared.Model,
                CreatedAt = last?.CreatedAt,
                ConversationId = options?.ConversationId,
            };
        }
    }

    /// <inheritdoc />
    /// <remarks>Returns <see cref="ChatClientMetadata"/> (provider <c>openai-compatible</c>, the endpoint and the model) and the client itself.</remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Releases the HTTP client if this instance created it. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"RemoteChatClient '{Model}' at {Endpoint}";

    private static HttpClient CreateHttpClient()
    {
        // Renewing pooled connections picks up DNS changes (an engine behind a load balancer or a Kubernetes service).
#pragma warning disable CA2000 // Ownership passes to the HttpClient (disposeHandler: true), which this client disposes.
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
        };
#pragma warning restore CA2000

        // The client's own timeout is replaced by RemoteChatClientOptions.Timeout, which also covers idle streams.
        return new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    private async Task<PreparedRequest> PrepareAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, CancellationToken cancellationToken)
    {
        var model = string.IsNullOrWhiteSpace(options?.ModelId) ? Model : options.ModelId;
        var ingestion = new MediaIngestion(_options, _pdfRasterizer, _videoFrameSource, _imageDecoder);
        var wire = await ingestion.ConvertAsync(messages, options?.Instructions, cancellationToken).ConfigureAwait(false);
        var body = RequestWriter.Write(model, wire, options, _options.ExtraBody, stream);
        RemoteLog.RequestSending(_logger, stream ? "streaming" : "non-streaming", model, _completionsUri, body.Length, ingestion.ImageCount);
        return new PreparedRequest(body, model);
    }

    /// <summary>Sends the request until it succeeds, fails for good, or runs out of retries.</summary>
    /// <returns>The attempt that got a success status; the caller disposes it.</returns>
    private async Task<Attempt> SendAsync(PreparedRequest prepared, bool stream, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            var timeout = new CancellationTokenSource();
            var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            if (_options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(_options.Timeout);
            }

            var request = CreateRequest(prepared.Body, stream);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                request.Dispose();
                linked.Dispose();
                timeout.Dispose();
                if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw TimedOut(ex, stream);
                }

                if (ex is not HttpRequestException http)
                {
                    throw;
                }

                if (!RetryTiming.IsConnectionFailure(http))
                {
                    throw new RemoteEngineException(
                        $"The request to the engine at {Endpoint} failed before a response arrived{Attempts(retry)}: {Describe(http)}",
                        innerException: http);
                }

                if (retry < _options.MaxRetries)
                {
                    await WaitAsync(retry, null, http.Message, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw new RemoteEngineException(
                    $"Cannot reach the engine at {Endpoint}{Attempts(retry)}: {Describe(http)} Check RemoteChatClientOptions.Endpoint and that the engine is running.",
                    innerException: http);
            }

            if (response.IsSuccessStatusCode)
            {
                return new Attempt(request, response, timeout, linked, _options.Timeout);
            }

            if (RetryTiming.IsTransient(response.StatusCode) && retry < _options.MaxRetries)
            {
                // Release the connection before waiting: the body of a refusal is not worth reading.
                var retryAfter = response.Headers.RetryAfter;
                var status = (int)response.StatusCode;
                response.Dispose();
                request.Dispose();
                linked.Dispose();
                timeout.Dispose();
                await WaitAsync(retry, retryAfter, $"HTTP {status}", cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                var errorBody = await ReadErrorBodyAsync(response, linked.Token, cancellationToken).ConfigureAwait(false);
                throw RefusedError(response, errorBody, retry);
            }
            finally
            {
                response.Dispose();
                request.Dispose();
                linked.Dispose();
                timeout.Dispose();
            }
        }
    }

    private async Task WaitAsync(int retry, RetryConditionHeaderValue? retryAfter, string reason, CancellationToken cancellationToken)
    {
        var delay = RetryTiming.Delay(retry, _options.InitialBackoff, _options.MaxBackoff, retryAfter, DateTimeOffset.UtcNow, Random.Shared.NextDouble());
        RemoteLog.RetryScheduled(_logger, retry + 1, _completionsUri, reason, delay.TotalMilliseconds);
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
    }

    private HttpRequestMessage CreateRequest(ReadOnlyMemory<byte> body, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _completionsUri)
        {
            Content = new ReadOnlyMemoryContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        return request;
    }

    /// <summary>Reads a whole (non-streaming) reply, refusing one larger than <see cref="MaxReplyBytes"/>.</summary>
    private async Task<ReadOnlyMemory<byte>> ReadReplyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var declared = response.Content.Headers.ContentLength;
        if (declared > MaxReplyBytes)
        {
            throw TooLarge(response);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // Sized by the declared length only up to a point: the data has to arrive before more memory is taken.
            var body = new ArrayBufferWriter<byte>((int)Math.Clamp(declared ?? 0, 16 * 1024, 1024 * 1024));
            while (true)
            {
                var read = await stream.ReadAsync(body.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return body.WrittenMemory;
                }

                if (body.WrittenCount + read > MaxReplyBytes)
                {
                    throw TooLarge(response);
                }

                body.Advance(read);
            }
        }
    }

    private RemoteEngineException TooLarge(HttpResponseMessage response) =>
        new($"The reply of the engine at {Endpoint} is larger than {MaxReplyBytes / (1024 * 1024)} MiB; that is not a chat completion. Is RemoteChatClientOptions.Endpoint the engine's OpenAI-compatible API?", response.StatusCode);

    /// <summary>Reads at most 64 KiB of an error body; a body that does not arrive in time is left out rather than turning a refusal into a timeout.</summary>
    private static async Task<byte[]> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken, CancellationToken callerToken)
    {
        const int Limit = 64 * 1024;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[Limit];
                var total = 0;
                int read;
                while (total < Limit && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                }

                return buffer[..total];
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            callerToken.ThrowIfCancellationRequested();
            return [];
        }
    }

    private RemoteEngineException RefusedError(HttpResponseMessage response, byte[] body, int retry)
    {
        var status = response.StatusCode;
        var error = ResponseReader.ParseError(body);
        RemoteLog.RequestRefused(_logger, _completionsUri, (int)status, error.Message);
        var hint = status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " Check RemoteChatClientOptions.ApiKey (the engine's --api-key).",
            HttpStatusCode.NotFound => $" Check RemoteChatClientOptions.Endpoint (the API root, usually ending in /v1) and the model name '{Model}' (GET {Endpoint}models lists what the engine serves).",
            HttpStatusCode.RequestEntityTooLarge => " Send fewer or smaller images, pages or frames, or raise the server's request size limit.",
            _ when RetryTiming.IsTransient(status) => $" The engine stayed busy{Attempts(retry)}; raise RemoteChatClientOptions.MaxRetries or MaxBackoff, or add capacity.",
            _ when error.Code == "context_length_exceeded" || (error.Message?.Contains("maximum context length", StringComparison.OrdinalIgnoreCase) ?? false) =>
                " The prompt (text plus image tokens) does not fit: send fewer pages or frames, shorten the conversation, lower max_tokens, or serve the model with a larger --max-model-len.",
            _ => string.Empty,
        };

        return new RemoteEngineException(
            $"The engine at {Endpoint} refused the request with HTTP {(int)status} ({response.ReasonPhrase ?? status.ToString()}){Attempts(retry)}: {error.Message ?? "(no message)"}{ResponseReader.Details(error)}.{hint}",
            status, error.Message, error.Type, error.Code, error.Param);
    }

    private TimeoutException TimedOut(Exception inner, bool streaming)
    {
        RemoteLog.RequestTimedOut(_logger, _completionsUri, _options.Timeout.TotalMilliseconds);
        var what = streaming ? "the engine sent nothing (no response, or no further part of the stream)" : "the engine did not finish its reply";
        return new TimeoutException(
            $"Request to {_completionsUri} timed out: {what} within {_options.Timeout.TotalSeconds:0.###} s (RemoteChatClientOptions.Timeout). " +
            "The engine may be overloaded or still loading the model; raise the timeout or check the engine.",
            inner);
    }

    private RemoteEngineException Broken(Exception inner) =>
        new($"The connection to the engine at {Endpoint} broke while the reply was arriving: {inner.Message}", innerException: inner);

    /// <summary>The message of a transport failure with the cause that HttpClient keeps in its inner exception ("Connection refused").</summary>
    private static string Describe(HttpRequestException exception) =>
        exception.InnerException is { } inner && !exception.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{exception.Message} ({inner.Message})"
            : exception.Message;

    private static string Attempts(int retry) => retry == 0 ? string.Empty : $" after {retry + 1} attempts";

    /// <summary>A request body ready to send, and the model it names.</summary>
    private sealed record PreparedRequest(ReadOnlyMemory<byte> Body, string Model);

    /// <summary>A successful attempt: the response and the timer that bounds it, disposed together.</summary>
    private sealed class Attempt : IDisposable
    {
        private readonly HttpRequestMessage _request;
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;
        private readonly TimeSpan _limit;

        public Attempt(HttpRequestMessage request, HttpResponseMessage response, CancellationTokenSource timeout, CancellationTokenSource linked, TimeSpan limit)
        {
            _request = request;
            Response = response;
            _timeout = timeout;
            _linked = linked;
            _limit = limit;
        }

        public HttpResponseMessage Response { get; }

        /// <summary>Gets the token that fires on the caller's cancellation or when the attempt's time runs out.</summary>
        public CancellationToken Token => _linked.Token;

        /// <summary>Gives a stream another full timeout before the next read, making the timeout an idle timeout.</summary>
        public void RestartIdleTimer()
        {
            if (_limit != System.Threading.Timeout.InfiniteTimeSpan && !_timeout.IsCancellationRequested)
            {
                _timeout.CancelAfter(_limit);
            }
        }

        /// <summary>Stops the clock while the caller has an update (the next read restarts it), so that only the engine's silence counts.</summary>
        public void PauseIdleTimer()
        {
            if (_limit != System.Threading.Timeout.InfiniteTimeSpan && !_timeout.IsCancellationRequested)
            {
                _timeout.CancelAfter(System.Threading.Timeout.InfiniteTimeSpan);
            }
        }

        public void Dispose()
        {
            // Disposing the response aborts a stream the caller stopped reading, so the engine stops generating.
            Response.Dispose();
            _request.Dispose();
            _linked.Dispose();
            _timeout.Dispose();
        }
    }
}
