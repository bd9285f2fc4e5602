// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Multimodal.Backends.Remote;

namespace Multimodal.Server.Internal;

/// <summary><c>POST /v1/chat/completions</c>: parse, find the model, wait for a slot, generate, and answer as JSON or as server-sent events.</summary>
/// <remarks>
/// Every failure becomes an OpenAI error body with the right status. Failures before the first generated update
/// (bad media, a prompt too long for the context) are answered with their own status even when streaming, because the
/// first update is awaited before the response starts; a failure after that ends the stream with a
/// <c>data: {"error": …}</c> event. The generation is cancelled when the client disconnects or the server stops.
/// </remarks>
internal sealed class ChatCompletionHandler(
    ModelRegistry registry,
    RemoteMediaFetcher fetcher,
    ServerMetrics metrics,
    IdleMemoryRelease idleMemory,
    IOptions<MultimodalServerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ChatCompletionHandler> logger)
{
    /// <summary>nginx's "client closed request": how metrics count a request whose client went away.</summary>
    internal const int ClientClosedRequest = 499;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly MultimodalServerOptions _options = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var modelTag = string.Empty;
        var status = StatusCodes.Status500InternalServerError;
        // Everything the request waits for (its body, remote media, a slot, the generation) ends when the client
        // leaves or the server stops; a request waiting in the queue is not left to wait for a slot while the server stops.
        using var requestCancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var cancellationToken = requestCancellation.Token;
        idleMemory.Enter();
        try
        {
            ChatCompletionRequest request;
            ServedModel model;
            using (var body = await RequestBody.ReadAsync(context.Request, _options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false))
            {
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(body.Memory, DocumentOptions);
                }
                catch (JsonException ex)
                {
                    throw ApiError.BadRequest($"The request body is not valid JSON: {ex.Message}", null, "invalid_json");
                }

                using (document)
                {
                    var modelId = ChatCompletionRequest.ReadModel(document.RootElement);
                    model = registry.Find(modelId) ?? throw ApiError.ModelNotFound(modelId);
                    modelTag = model.Id;

                    // Under overload, refuse before decoding any media.
                    if (model.IsFull)
                    {
                        throw OverCapacity(model);
                    }

                    request = await ChatCompletionRequest.ParseAsync(document.RootElement, model, _options, fetcher, cancellationToken).ConfigureAwait(false);
                }
            }

            // The request buffer is back in the pool; only the decoded media stay, while the request waits and runs.
            using var slot = await model.AcquireAsync(cancellationToken).ConfigureAwait(false) ?? throw OverCapacity(model);
            status = request.Stream
                ? await StreamAsync(context, model, request, start, cancellationToken).ConfigureAwait(false)
                : await CompleteAsync(context, model, request, start, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            status = await FailAsync(context, ex, modelTag).ConfigureAwait(false);
        }
        finally
        {
            metrics.RequestCompleted(modelTag, status, Stopwatch.GetElapsedTime(start).TotalSeconds);
            idleMemory.Exit();
        }
    }

    /// <summary>Answers a non-streaming request with one <c>chat.completion</c> object.</summary>
    private async Task<int> CompleteAsync(HttpContext context, ServedModel model, ChatCompletionRequest request, long start, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var result = new Outcome();
        await foreach (var update in model.Client.GetStreamingResponseAsync(request.Messages, request.Options, cancellationToken).ConfigureAwait(false))
        {
            var delta = update.Text;
            if (delta.Length > 0 && text.Length == 0)
            {
                metrics.FirstToken(model.Id, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            text.Append(delta);
            result.Observe(update);
        }

        RecordTokens(model, result);

        // The answer is complete: write it even if the server is stopping now (only a client that left stops it). A
        // write cancelled after its bytes reached the pipe could not be taken back, and an error would follow them.
        await Json.WriteResponseAsync(
            context.Response,
            writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("id", result.Id);
                writer.WriteString("object", "chat.completion");
                writer.WriteNumber("created", result.Created);
                writer.WriteString("model", model.Id);
                writer.WriteStartArray("choices");
                writer.WriteStartObject();
                writer.WriteNumber("index", 0);
                writer.WriteStartObject("message");
                writer.WriteString("role", "assistant");
                writer.WriteString("content", text.ToString());
                writer.WriteNull("refusal");
                writer.WriteEndObject();
                writer.WriteNull("logprobs");
                writer.WriteString("finish_reason", result.FinishReason);
                writer.WriteEndObject();
                writer.WriteEndArray();
                WriteUsage(writer, result);
                writer.WriteEndObject();
            },
            context.RequestAborted).ConfigureAwait(false);
        return StatusCodes.Status200OK;
    }

    /// <summary>Answers a streaming request with <c>chat.completion.chunk</c> events, then <c>[DONE]</c>.</summary>
    private async Task<int> StreamAsync(HttpContext context, ServedModel model, ChatCompletionRequest request, long start, CancellationToken cancellationToken)
    {
        var updates = model.Client.GetStreamingResponseAsync(request.Messages, request.Options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var disposeUpdates = updates.ConfigureAwait(false);

        // The first update decides the status: failures before it (bad media, a prompt too long) get a normal error response.
        var more = await updates.MoveNextAsync().ConfigureAwait(false);
        var result = new Outcome();
        if (more)
        {
            result.Observe(updates.Current);
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken).ConfigureAwait(false);

        try
        {
            await WriteChunkAsync(response, result, model.Id, request.IncludeUsage, new Delta(Role: true, Content: string.Empty), null, cancellationToken).ConfigureAwait(false);
            var firstToken = true;
            while (more)
            {
                var delta = updates.Current.Text;
                if (delta.Length > 0)
                {
                    if (firstToken)
                    {
                        metrics.FirstToken(model.Id, Stopwatch.GetElapsedTime(start).TotalSeconds);
                        firstToken = false;
                    }

                    await WriteChunkAsync(response, result, model.Id, request.IncludeUsage, new Delta(Role: false, Content: delta), null, cancellationToken).ConfigureAwait(false);
                }

                more = await updates.MoveNextAsync().ConfigureAwait(false);
                if (more)
                {
                    result.Observe(updates.Current);
                }
            }

            // The generation is over: the closing events go out even if the server is stopping now, so that a finished
            // answer is not followed by a "shutting down" error.
            RecordTokens(model, result);
            var aborted = context.RequestAborted;
            await WriteChunkAsync(response, result, model.Id, request.IncludeUsage, new Delta(Role: false, Content: null), result.FinishReason, aborted).ConfigureAwait(false);
            if (request.IncludeUsage)
            {
                await WriteEventAsync(response, writer => WriteUsageChunk(writer, result, model.Id), aborted).ConfigureAwait(false);
            }

            await response.BodyWriter.WriteAsync(Done, aborted).ConfigureAwait(false);
            await response.BodyWriter.FlushAsync(aborted).ConfigureAwait(false);
            return StatusCodes.Status200OK;
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The status line is gone; an error event tells the client the stream ended badly. (A client that left gets nothing.)
            var error = ex is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested
                ? StoppingError()
                : ToApiError(ex, model.Id, context, logger, started: true);
            try
            {
                await WriteEventAsync(response, error.WriteTo, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception writeFailure) when (writeFailure is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection is gone too.
            }

            return error.StatusCode;
        }
    }

    private static void WriteUsage(Utf8JsonWriter writer, Outcome result)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", result.PromptTokens);
        writer.WriteNumber("completion_tokens", result.CompletionTokens);
        writer.WriteNumber("total_tokens", result.TotalTokens);
        writer.WriteEndObject();
    }

    /// <summary>Opens a <c>chat.completion.chunk</c> object with the fields every chunk of one response shares.</summary>
    private static void WriteChunkStart(Utf8JsonWriter writer, Outcome result, string model)
    {
        writer.WriteStartObject();
        writer.WriteString("id", result.Id);
        writer.WriteString("object", "chat.completion.chunk");
        writer.WriteNumber("created", result.Created);
        writer.WriteString("model", model);
    }

    private static void WriteUsageChunk(Utf8JsonWriter writer, Outcome result, string model)
    {
        WriteChunkStart(writer, result, model);
        writer.WriteStartArray("choices");
        writer.WriteEndArray();
        WriteUsage(writer, result);
        writer.WriteEndObject();
    }

    private static Task WriteChunkAsync(HttpResponse response, Outcome result, string model, bool includeUsage, Delta delta, string? finishReason, CancellationToken cancellationToken) =>
        WriteEventAsync(
            response,
            writer =>
            {
                WriteChunkStart(writer, result, model);
                writer.WriteStartArray("choices");
                writer.WriteStartObject();
                writer.WriteNumber("index", 0);
                writer.WriteStartObject("delta");
                if (delta.Role)
                {
                    writer.WriteString("role", "assistant");
                }

                if (delta.Content is not null)
                {
                    writer.WriteString("content", delta.Content);
                }

                writer.WriteEndObject();
                writer.WriteNull("logprobs");
                if (finishReason is null)
                {
                    writer.WriteNull("finish_reason");
                }
                else
                {
                    writer.WriteString("finish_reason", finishReason);
                }

                writer.WriteEndObject();
                writer.WriteEndArray();

                // OpenAI sends "usage": null on every chunk but the last when usage was asked for.
                if (includeUsage)
                {
                    writer.WriteNull("usage");
                }

                writer.WriteEndObject();
            },
            cancellationToken);

    /// <summary>Writes <c>data: {json}\n\n</c> and flushes it to the client.</summary>
    private static async Task WriteEventAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var output = response.BodyWriter;
        output.Write(DataPrefix);
        using (var writer = new Utf8JsonWriter(output, Json.WriterOptions))
        {
            write(writer);
        }

        output.Write(EventEnd);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void RecordTokens(ServedModel model, Outcome result)
    {
        if (result.HasUsage)
        {
            metrics.Tokens(model.Id, result.PromptTokens, result.CompletionTokens);
        }
    }

    /// <summary>Answers a failure that happened before the response started; returns the status for the metrics.</summary>
    private async Task<int> FailAsync(HttpContext context, Exception exception, string modelId)
    {
        if (context.RequestAborted.IsCancellationRequested && exception is OperationCanceledException or IOException)
        {
            ServerLog.RequestCancelled(logger, modelId);
            return ClientClosedRequest;
        }

        var error = exception is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested
            ? StoppingError()
            : ToApiError(exception, modelId, context, logger, started: false);
        if (context.Response.HasStarted)
        {
            // A non-streaming body was being written when it failed: nothing sensible can follow.
            context.Abort();
            return error.StatusCode;
        }

        try
        {
            context.Response.Clear();
            await error.WriteResponseAsync(context.Response, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception writeFailure) when (writeFailure is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return ClientClosedRequest;
        }

        return error.StatusCode;
    }

    private ApiError OverCapacity(ServedModel model)
    {
        ServerLog.OverCapacity(logger, model.Id, model.Active, model.Queued);
        var seconds = (int)Math.Ceiling(_options.RetryAfter.TotalSeconds);
        return new ApiError(
            StatusCodes.Status429TooManyRequests,
            $"Model '{model.Id}' is at capacity ({model.MaxConcurrentRequests} generating, {model.MaxQueuedRequests} waiting). Retry after {seconds} s.",
            "rate_limit_error",
            null,
            "rate_limit_exceeded")
        {
            RetryAfterSeconds = seconds,
        };
    }

    private static ApiError StoppingError() =>
        new(StatusCodes.Status503ServiceUnavailable, "The server is shutting down; the request was cancelled. Retry on another server or later.", "server_error", null, "server_shutting_down");

    /// <summary>Maps a failure to its OpenAI error; unexpected failures are logged with a trace id and described without details.</summary>
    internal static ApiError ToApiError(Exception exception, string modelId, HttpContext context, ILogger logger, bool started)
    {
        switch (exception)
        {
            case ApiError api:
                ServerLog.RequestRefused(logger, api.StatusCode, api.Message);
                return api;
            case ContextLengthExceededException tooLong:
                return ApiError.BadRequest(tooLong.Message, "messages", "context_length_exceeded");
            case InvalidMediaException media:
                return ApiError.BadRequest(media.Message, "messages", "invalid_media");
            case UnsupportedRequestException unsupported:
                return ApiError.BadRequest(unsupported.Message, unsupported.ParameterName ?? "messages", "unsupported_request");
            case ArgumentException argument when !started:
                // Out-of-range sampling settings the model rejected (GenerationSettings names the option).
                return ApiError.BadRequest(argument.Message, null, "invalid_value");
            case ObjectDisposedException:
                return new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{modelId}' is shutting down.", "server_error", null, "model_unavailable");
            case RemoteEngineException upstream:
                return Upstream(upstream, modelId, logger);
            case TimeoutException timeout when !started:
                // A RemoteChatClient's own time limit: the upstream engine did not answer in time.
                ServerLog.RequestRefused(logger, StatusCodes.Status504GatewayTimeout, timeout.Message);
                return new ApiError(StatusCodes.Status504GatewayTimeout, $"Model '{modelId}' is served by an upstream engine that did not answer in time.", "server_error", null, "upstream_timeout");
        }

        var traceId = Activity.Current?.Id ?? context.TraceIdentifier;
        if (exception is ModelLoadException)
        {
            ServerLog.ModelLoadFailed(logger, exception, modelId, traceId);
            return new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{modelId}' could not be loaded (trace id {traceId}). The server's log has the details.", "server_error", null, "model_load_failed");
        }

        if (started)
        {
            ServerLog.StreamFailed(logger, exception, modelId, traceId);
        }
        else
        {
            ServerLog.RequestFailed(logger, exception, modelId, traceId);
        }

        return ApiError.Internal(traceId);
    }

    /// <summary>Answers for an upstream engine (the model is a <see cref="RemoteChatClient"/>): what the engine refused
    /// as the client's fault keeps its status, type, param and code (a prompt too long stays <c>context_length_exceeded</c>);
    /// an engine that is busy or down after the client's retries is 503; any other engine failure is 502.</summary>
    private static ApiError Upstream(RemoteEngineException upstream, string modelId, ILogger logger)
    {
        var status = (int?)upstream.StatusCode;
        ApiError error = status switch
        {
            >= 400 and < 500 and not 429 => new ApiError(status.Value, upstream.ServerMessage ?? upstream.Message, upstream.ErrorType ?? "invalid_request_error", upstream.ErrorParam, upstream.ErrorCode),
            429 or 503 => new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{modelId}' is served by an upstream engine that is busy or unavailable; retry later.", "server_error", null, "upstream_unavailable"),
            _ => new ApiError(StatusCodes.Status502BadGateway, $"Model '{modelId}' is served by an upstream engine that failed{(status is { } s ? $" with status {s}" : string.Empty)}.", "server_error", null, "upstream_error"),
        };
        ServerLog.RequestRefused(logger, error.StatusCode, upstream.Message);
        return error;
    }

    private readonly record struct Delta(bool Role, string? Content);

    /// <summary>What the updates said about the response: its id and time, the finish reason and the usage.</summary>
    private sealed class Outcome
    {
        private bool _identified;

        public string Id { get; private set; } = "chatcmpl-" + Guid.NewGuid().ToString("N");

        public long Created { get; private set; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        public string FinishReason { get; private set; } = "stop";

        public bool HasUsage { get; private set; }

        public long PromptTokens { get; private set; }

        public long CompletionTokens { get; private set; }

        public long TotalTokens => PromptTokens + CompletionTokens;

        public void Observe(ChatResponseUpdate update)
        {
            if (!_identified)
            {
                _identified = true;
                if (!string.IsNullOrEmpty(update.ResponseId))
                {
                    Id = update.ResponseId;
                }

                if (update.CreatedAt is { } created)
                {
                    Created = created.ToUnixTimeSeconds();
                }
            }

            if (update.FinishReason is { } reason)
            {
                FinishReason = reason == ChatFinishReason.Length ? "length"
                    : reason == ChatFinishReason.ContentFilter ? "content_filter"
                    : reason == ChatFinishReason.ToolCalls ? "tool_calls"
                    : "stop";
            }

            foreach (var content in update.Contents)
            {
                if (content is UsageContent { Details: var details })
                {
                    HasUsage = true;
                    PromptTokens = details.InputTokenCount ?? PromptTokens;
                    CompletionTokens = details.OutputTokenCount ?? CompletionTokens;
                }
            }
        }
    }
}
