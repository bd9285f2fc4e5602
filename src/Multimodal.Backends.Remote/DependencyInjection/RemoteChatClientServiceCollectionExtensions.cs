// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Multimodal;
using Multimodal.Backends.Remote;
using Multimodal.Backends.Remote.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="RemoteChatClient"/> (and its <see cref="IChatClient"/>) with dependency injection.</summary>
/// <remarks>
/// <para>This is the one call that moves an application from an in-process model to a serving engine: code that
/// injects <see cref="IChatClient"/> does not change.</para>
/// <code>
/// // In process:
/// // builder.Services.AddMultimodalModel().UseModelPath("models/llava-1.5-7b").UseLlava().UseOnnxRuntime();
/// // On vLLM:
/// builder.Services.AddRemoteChatClient(new Uri("http://gpu-box:8000/v1"), "llava-hf/llava-1.5-7b-hf");
/// builder.Services.AddMultimodalPdf();     // optional: PDF pages are rendered here and sent as images
/// </code>
/// <para>The client is a singleton with its own pooled <see cref="HttpClient"/>. An <see cref="IPdfRasterizer"/>,
/// <see cref="IVideoFrameSource"/>, <see cref="IImageDecoder"/> and <see cref="ILoggerFactory"/> registered in the container
/// are used when present. The options are validated when the host starts (or at the first resolution without a host);
/// the <see cref="OptionsValidationException"/> names each bad option. Nothing connects to the engine at registration.
/// <see cref="IChatClient"/> is added only if none is registered yet (the first registration wins, as with
/// <c>AddMultimodalModel</c>); <see cref="RemoteChatClient"/> itself is always added.</para>
/// </remarks>
public static class RemoteChatClientServiceCollectionExtensions
{
    /// <summary>Registers a remote client for an engine and model.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="endpoint">The engine's OpenAI-compatible base address (for example <c>http://localhost:8000/v1</c>).</param>
    /// <param name="model">The model name the engine serves.</param>
    /// <param name="configure">Adjusts the other options; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/>, <paramref name="endpoint"/> or <paramref name="model"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddRemoteChatClient(this IServiceCollection services, Uri endpoint, string model, Action<RemoteChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(model);
        return Register(services, null, o => Apply(o, endpoint, model, configure));
    }

    /// <summary>Registers a remote client configured from a configuration section.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section (for example <c>Multimodal:Remote</c>) with the keys of <see cref="RemoteChatClientOptions"/>:
    /// <c>Endpoint</c>, <c>Model</c>, <c>ApiKey</c>, <c>Timeout</c>, <c>MaxRetries</c>, <c>InitialBackoff</c>, <c>MaxBackoff</c> (durations as
    /// <c>hh:mm:ss</c>), <c>PdfMode</c>, <c>PdfZoom</c>, <c>LabelPdfPages</c>, <c>VideoMode</c>, <c>VideoFrames</c>, <c>LabelVideoFrames</c>,
    /// <c>MaxImagesPerRequest</c> and an <c>ExtraBody</c> section sent as JSON.</param>
    /// <param name="configure">Adjusts the bound options (it runs after binding, so it wins); <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// <code>
    /// // appsettings.json: { "Multimodal": { "Remote": { "Endpoint": "http://gpu-box:8000/v1", "Model": "rhymes-ai/Aria",
    /// //   "Timeout": "00:02:00", "MaxImagesPerRequest": 16, "ExtraBody": { "repetition_penalty": 1.05 } } } }
    /// builder.Services.AddRemoteChatClient(builder.Configuration.GetSection("Multimodal:Remote"));
    /// </code>
    /// An unknown key or a value that cannot be read fails like an invalid option, naming its full key.
    /// </remarks>
    public static IServiceCollection AddRemoteChatClient(this IServiceCollection services, IConfiguration configuration, Action<RemoteChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Register(services, null, o => Bind(o, configuration, Options.Options.DefaultName, configure));
    }

    /// <summary>Registers a keyed remote client, so that one application can talk to several engines or models.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key; its text (<see cref="object.ToString"/>) also names the client's options, so keys must have distinct, non-empty texts.</param>
    /// <param name="endpoint">The engine's OpenAI-compatible base address.</param>
    /// <param name="model">The model name the engine serves.</param>
    /// <param name="configure">Adjusts the other options; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The key's text is empty.</exception>
    public static IServiceCollection AddKeyedRemoteChatClient(this IServiceCollection services, object serviceKey, Uri endpoint, string model, Action<RemoteChatClientOptions>? configure = null)
    {
        CheckKey(serviceKey);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(model);
        return Register(services, serviceKey, o => Apply(o, endpoint, model, configure));
    }

    /// <summary>Registers a keyed remote client configured from a configuration section.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key; its text also names the client's options.</param>
    /// <param name="configuration">The section, with the keys described at <see cref="AddRemoteChatClient(IServiceCollection, IConfiguration, Action{RemoteChatClientOptions}?)"/>.</param>
    /// <param name="configure">Adjusts the bound options; <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The key's text is empty.</exception>
    public static IServiceCollection AddKeyedRemoteChatClient(this IServiceCollection services, object serviceKey, IConfiguration configuration, Action<RemoteChatClientOptions>? configure = null)
    {
        CheckKey(serviceKey);
        ArgumentNullException.ThrowIfNull(configuration);
        return Register(services, serviceKey, o => Bind(o, configuration, serviceKey.ToString()!, configure));
    }

    private static void CheckKey(object serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        if (string.IsNullOrEmpty(serviceKey.ToString()))
        {
            throw new ArgumentException("The service key's text names the client's options and must not be empty.", nameof(serviceKey));
        }
    }

    private static void Apply(RemoteChatClientOptions options, Uri endpoint, string model, Action<RemoteChatClientOptions>? configure)
    {
        options.Endpoint = endpoint;
        options.Model = model;
        configure?.Invoke(options);
    }

    private static void Bind(RemoteChatClientOptions options, IConfiguration configuration, string name, Action<RemoteChatClientOptions>? configure)
    {
        RemoteConfiguration.Bind(configuration, options, name);
        configure?.Invoke(options);
    }

    private static IServiceCollection Register(IServiceCollection services, object? serviceKey, Action<RemoteChatClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = serviceKey?.ToString() ?? Options.Options.DefaultName;
        services.AddOptions<RemoteChatClientOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RemoteChatClientOptions>, RemoteChatClientOptionsValidator>());

        if (serviceKey is null)
        {
            services.AddSingleton(sp => Create(sp, name));
            services.TryAddSingleton<IChatClient>(sp => sp.GetRequiredService<RemoteChatClient>());
        }
        else
        {
            services.AddKeyedSingleton(serviceKey, (sp, _) => Create(sp, name));
            services.TryAddKeyedSingleton<IChatClient>(serviceKey, (sp, key) => sp.GetRequiredKeyedService<RemoteChatClient>(key));
        }

        return services;
    }

    private static RemoteChatClient Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<RemoteChatClientOptions>>().Get(name);
        return new RemoteChatClient(
            options,
            httpClient: null,
            services.GetService<IPdfRasterizer>(),
            services.GetService<IVideoFrameSource>(),
            services.GetService<IImageDecoder>(),
            services.GetService<ILoggerFactory>()?.CreateLogger<RemoteChatClient>());
    }

    /// <summary>Checks <see cref="RemoteChatClientOptions"/> with <see cref="RemoteChatClientOptions.Validate"/>.</summary>
    private sealed class RemoteChatClientOptionsValidator : IValidateOptions<RemoteChatClientOptions>
    {
        public ValidateOptionsResult Validate(string? name, RemoteChatClientOptions options)
        {
            var failures = options.Validate();
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
