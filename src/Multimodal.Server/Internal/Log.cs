// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Logging;

namespace Multimodal.Server.Internal;

/// <summary>The server's log events (source-generated, allocation-free when disabled).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Warning, "Model '{ModelId}' generates at most {ModelLimit} request(s) at once (MultimodalModelOptions.MaxConcurrentRequests, fixed when the model was built), so the server's MaxConcurrentRequestsPerModel of {ServerLimit} is lowered to the model's limit and further requests wait in the server's queue. Build the model with ConfigureOptions(o => o.MaxConcurrentRequests = n) to run more at once.")]
    public static partial void ConcurrencyLowered(ILogger logger, string modelId, int modelLimit, int serverLimit);

    [LoggerMessage(2, LogLevel.Error, "Chat completion for model '{ModelId}' failed (trace id {TraceId}).")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string modelId, string traceId);

    [LoggerMessage(3, LogLevel.Error, "Chat completion stream for model '{ModelId}' failed after it started (trace id {TraceId}); an error event ends it.")]
    public static partial void StreamFailed(ILogger logger, Exception exception, string modelId, string traceId);

    [LoggerMessage(4, LogLevel.Information, "Chat completion for model '{ModelId}' ended early: the client disconnected or the server is stopping.")]
    public static partial void RequestCancelled(ILogger logger, string modelId);

    [LoggerMessage(5, LogLevel.Information, "Model '{ModelId}' is at capacity ({Active} generating, {Queued} waiting); a request got 429.")]
    public static partial void OverCapacity(ILogger logger, string modelId, int active, int queued);

    [LoggerMessage(6, LogLevel.Debug, "Chat completion request refused with {StatusCode}: {Message}")]
    public static partial void RequestRefused(ILogger logger, int statusCode, string message);

    [LoggerMessage(7, LogLevel.Error, "Model '{ModelId}' could not be loaded (trace id {TraceId}).")]
    public static partial void ModelLoadFailed(ILogger logger, Exception exception, string modelId, string traceId);

    [LoggerMessage(8, LogLevel.Error, "An endpoint of the server failed (trace id {TraceId}).")]
    public static partial void EndpointFailed(ILogger logger, Exception exception, string traceId);
}
