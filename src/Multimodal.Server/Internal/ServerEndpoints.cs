// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Internal;

/// <summary>The small endpoints: <c>/v1/models</c>, <c>/health</c>, <c>/metrics</c>, the chat page and the OpenAI-style 404.</summary>
internal sealed class ServerEndpoints(ModelRegistry registry, PrometheusExporter exporter, IOptions<MultimodalServerOptions> options, ILogger<ServerEndpoints> logger)
{
    public Task ListModelsAsync(HttpContext context) => GuardAsync(context, () => Json.WriteResponseAsync(
        context.Response,
        writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var model in registry.Models)
            {
                WriteModel(writer, model);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        },
        context.RequestAborted));

    public Task GetModelAsync(HttpContext context) => GuardAsync(context, () =>
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        var model = registry.Find(id) ?? throw ApiError.ModelNotFound(id);
        return Json.WriteResponseAsync(context.Response, writer => WriteModel(writer, model), context.RequestAborted);
    });

    public Task HealthAsync(HttpContext context) => GuardAsync(context, () => Json.WriteResponseAsync(
        context.Response,
        writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("status", "ok");
            writer.WriteStartArray("models");
            foreach (var model in registry.Models)
            {
                writer.WriteStartObject();
                writer.WriteString("id", model.Id);
                if (model.Model is { } local)
                {
                    writer.WriteBoolean("loaded", local.IsLoaded);
                }

                writer.WriteNumber("active", model.Active);
                writer.WriteNumber("queued", model.Queued);
                writer.WriteNumber("max_concurrent_requests", model.MaxConcurrentRequests);
                writer.WriteNumber("max_queued_requests", model.MaxQueuedRequests);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        },
        context.RequestAborted));

    public Task MetricsAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var text = exporter.Scrape();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = PrometheusExporter.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    });

    public Task ChatPageAsync(HttpContext context)
    {
        if (!options.Value.EnableChatPage)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var path = context.Request.RouteValues["path"] as string;
        return ChatPageFiles.Instance.ServeAsync(context, string.IsNullOrEmpty(path) ? "index.html" : path);
    }

    public Task UnknownApiAsync(HttpContext context) => GuardAsync(context, () => throw new ApiError(
        StatusCodes.Status404NotFound,
        $"Unknown endpoint {context.Request.Method} {context.Request.Path}. This server has POST /v1/chat/completions and GET /v1/models.",
        ApiError.InvalidRequestType,
        null,
        "unknown_url"));

    private static void WriteModel(Utf8JsonWriter writer, ServedModel model)
    {
        writer.WriteStartObject();
        writer.WriteString("id", model.Id);
        writer.WriteString("object", "model");
        writer.WriteNumber("created", model.Created.ToUnixTimeSeconds());
        writer.WriteString("owned_by", "multimodal");
        writer.WriteEndObject();
    }

    /// <summary>Runs an endpoint, turning any failure into an OpenAI error body.</summary>
    private async Task GuardAsync(HttpContext context, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
        {
            var error = ex as ApiError;
            if (error is null)
            {
                var traceId = Activity.Current?.Id ?? context.TraceIdentifier;
                ServerLog.EndpointFailed(logger, ex, traceId);
                error = ApiError.Internal(traceId);
            }

            context.Response.Clear();
            await error.WriteResponseAsync(context.Response, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
