// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Multimodal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="MultimodalModel"/>s (and their <see cref="IChatClient"/>) with dependency injection.</summary>
/// <remarks>
/// Registration loads nothing: it adds factory descriptors, and the model loads on its first request (or at host start
/// when <see cref="MultimodalModelOptions.LoadOnStart"/> is set). Options are validated when the host starts, and the
/// failure names the option.
/// <code>
/// builder.Services.AddMultimodalModel(builder.Configuration.GetSection("Multimodal"))
///     .UseFamily(family)
///     .UseBackend(backend);
/// // Inject MultimodalModel or IChatClient.
/// </code>
/// </remarks>
public static class MultimodalServiceCollectionExtensions
{
    /// <summary>Registers a model, configured through the returned builder.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A configuration section bound to <see cref="MultimodalModelOptions"/>, or <see langword="null"/>.</param>
    /// <param name="lifetime">The lifetime of the model; a singleton by default.</param>
    /// <returns>The builder, to choose the family, backend and components.</returns>
    public static MultimodalModelBuilder AddMultimodalModel(this IServiceCollection services, IConfiguration? configuration = null, ServiceLifetime lifetime = ServiceLifetime.Singleton) =>
        Register(services, serviceKey: null, configuration, lifetime);

    /// <summary>Registers a keyed model, so that one application can host several models.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key; its text (<see cref="object.ToString"/>) names the model's <see cref="MultimodalModelOptions"/>, so keys must have distinct, non-empty texts.</param>
    /// <param name="configuration">A configuration section bound to <see cref="MultimodalModelOptions"/>, or <see langword="null"/>.</param>
    /// <param name="lifetime">The lifetime of the model; a singleton by default.</param>
    /// <returns>The builder, to choose the family, backend and components.</returns>
    /// <exception cref="ArgumentException">The key's text is empty.</exception>
    public static MultimodalModelBuilder AddKeyedMultimodalModel(this IServiceCollection services, object serviceKey, IConfiguration? configuration = null, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        if (string.IsNullOrEmpty(serviceKey.ToString()))
        {
            throw new ArgumentException("The service key's text names the model's options and must not be empty.", nameof(serviceKey));
        }

        return Register(services, serviceKey, configuration, lifetime);
    }

    private static MultimodalModelBuilder Register(IServiceCollection services, object? serviceKey, IConfiguration? configuration, ServiceLifetime lifetime)
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = serviceKey?.ToString() ?? Options.Options.DefaultName;
        var options = services.AddOptions<MultimodalModelOptions>(name);
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MultimodalModelOptions>, MultimodalModelOptionsValidator>());

        var builder = new MultimodalModelBuilder(name);
        if (serviceKey is null)
        {
            services.Add(new ServiceDescriptor(typeof(MultimodalModel), sp => builder.Build(sp), lifetime));
            services.TryAdd(new ServiceDescriptor(typeof(IChatClient), sp => sp.GetRequiredService<MultimodalModel>(), lifetime));
        }
        else
        {
            services.Add(new ServiceDescriptor(typeof(MultimodalModel), serviceKey, (sp, _) => builder.Build(sp), lifetime));
            services.TryAdd(new ServiceDescriptor(typeof(IChatClient), serviceKey, (sp, key) => sp.GetRequiredKeyedService<MultimodalModel>(key), lifetime));
        }

        // Warming up needs one shared instance; scoped and transient models load with their first request instead.
        if (lifetime == ServiceLifetime.Singleton)
        {
            services.AddSingleton<IHostedService>(sp => new ModelWarmupService(sp, serviceKey, name));
        }
        return builder;
    }

    /// <summary>Loads a registered model when the host starts, if its options ask for it.</summary>
    private sealed class ModelWarmupService(IServiceProvider services, object? serviceKey, string optionsName) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var options = services.GetRequiredService<IOptionsMonitor<MultimodalModelOptions>>().Get(optionsName);
            if (!options.LoadOnStart)
            {
                return Task.CompletedTask;
            }

            var model = serviceKey is null ? services.GetRequiredService<MultimodalModel>() : services.GetRequiredKeyedService<MultimodalModel>(serviceKey);
            return model.LoadAsync(null, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
