// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Server.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the endpoints of the OpenAI-compatible Multimodal server.</summary>
public static class MultimodalServerEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>POST /v1/chat/completions</c>, <c>GET /v1/models</c>, <c>GET /v1/models/{id}</c>, <c>GET /health</c>,
    /// <c>GET /metrics</c> (Prometheus text format) and, when <see cref="Multimodal.Server.MultimodalServerOptions.EnableChatPage"/> is on, the web chat page at <c>/</c>.</summary>
    /// <param name="endpoints">The application's endpoint builder.</param>
    /// <returns>A builder for the group of endpoints, to add conventions such as authorization.</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddMultimodalServer()</c> was not called, or a model factory failed.</exception>
    public static IEndpointConventionBuilder MapMultimodalServer(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<ModelRegistrations>() is null)
        {
            throw new InvalidOperationException("The Multimodal server's services are missing; call services.AddMultimodalServer() before MapMultimodalServer().");
        }

        // Resolve now, so that a failing model factory stops the application at start rather than at the first request.
        var chat = services.GetRequiredService<ChatCompletionHandler>();
        var other = services.GetRequiredService<ServerEndpoints>();

        var group = endpoints.MapGroup(string.Empty);
        group.MapPost("/v1/chat/completions", chat.HandleAsync);
        group.MapGet("/v1/models", other.ListModelsAsync);
        group.MapGet("/v1/models/{id}", other.GetModelAsync);
        group.Map("/v1/{**rest}", other.UnknownApiAsync);
        group.MapGet("/health", other.HealthAsync);
        group.MapGet("/metrics", other.MetricsAsync);
        group.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], other.ChatPageAsync);
        group.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head], other.ChatPageAsync);
        return group;
    }
}
