// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Models.Aria;

namespace Multimodal;

/// <summary>Registers the Aria family with a model builder or a service collection.</summary>
public static class AriaServiceExtensions
{
    /// <summary>Uses the Aria family (which also hands each view's pixel mask to the vision encoder once the backend has loaded).</summary>
    /// <param name="builder">The model builder.</param>
    /// <returns>The builder.</returns>
    public static MultimodalModelBuilder UseAria(this MultimodalModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(AriaFamily.Instance);
    }

    /// <summary>Adds the Aria family to the services as an <see cref="IModelFamily"/> (for folder detection across installed families).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddAriaFamily(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelFamily>(AriaFamily.Instance));
        return services;
    }
}
