// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Models.MiniCpmV;

namespace Multimodal;

/// <summary>Registers the MiniCPM-V 2.0 family with a model builder or a service collection.</summary>
public static class MiniCpmVServiceExtensions
{
    /// <summary>Uses the MiniCPM-V 2.0 family.</summary>
    /// <param name="builder">The model builder.</param>
    /// <returns>The builder.</returns>
    public static MultimodalModelBuilder UseMiniCpmV(this MultimodalModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(MiniCpmVFamily.Instance);
    }

    /// <summary>Adds the MiniCPM-V 2.0 family to the services as an <see cref="IModelFamily"/> (for folder detection across installed families).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddMiniCpmVFamily(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelFamily>(MiniCpmVFamily.Instance));
        return services;
    }
}
