// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Multimodal.Server;
using Multimodal.Server.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OpenAI-compatible Multimodal server with dependency injection.</summary>
/// <remarks>
/// <code>
/// builder.Services.AddMultimodalServer(o => o.MaxImagesPerRequest = 4)
///     .AddModel(model)                       // a MultimodalModel, served under its ModelId
///     .AddModel("remote", remoteChatClient); // any IChatClient
/// var app = builder.Build();
/// app.MapMultimodalServer();
/// </code>
/// </remarks>
public static class MultimodalServerServiceCollectionExtensions
{
    /// <summary>Adds the server's services; call again to reach the same builder.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the server's options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder, to add models.</returns>
    public static MultimodalServerBuilder AddMultimodalServer(this IServiceCollection services, Action<MultimodalServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registrations = services.FirstOrDefault(d => d.ServiceType == typeof(ModelRegistrations))?.ImplementationInstance as ModelRegistrations;
        if (registrations is null)
        {
            registrations = new ModelRegistrations();
            services.AddSingleton(registrations);
            services.AddOptions<MultimodalServerOptions>().ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MultimodalServerOptions>, MultimodalServerOptionsValidator>());
            services.AddMetrics();
            services.TryAddSingleton<ModelRegistry>();
            services.TryAddSingleton<RemoteMediaFetcher>();
            services.TryAddSingleton<ServerMetrics>();
            services.TryAddSingleton<IdleMemoryRelease>();
            services.TryAddSingleton<PrometheusExporter>();
            services.TryAddSingleton<ChatCompletionHandler>();
            services.TryAddSingleton<ServerEndpoints>();
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return new MultimodalServerBuilder(services, registrations);
    }
}
