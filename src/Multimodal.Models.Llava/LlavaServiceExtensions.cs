// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Models.Llava;

namespace Multimodal;

/// <summary>Registers the LLaVA family with a model builder or a service collection.</summary>
public static class LlavaServiceExtensions
{
    /// <summary>Uses the LLaVA family (LLaVA-1.5 and LLaVA-MPT, told apart from config.json).</summary>
    /// <param name="builder">The model builder.</param>
    /// <returns>The builder.</returns>
    public static MultimodalModelBuilder UseLlava(this MultimodalModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(LlavaFamily.Instance);
    }

    /// <summary>Adds the LLaVA family to the services as an <see cref="IModelFamily"/> (for folder detection across installed families).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddLlavaFamily(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelFamily>(LlavaFamily.Instance));
        return services;
    }
}
