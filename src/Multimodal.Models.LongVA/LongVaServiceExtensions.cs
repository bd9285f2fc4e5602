// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Models.LongVA;

namespace Multimodal;

/// <summary>Registers the LongVA family with a model builder or a service collection.</summary>
public static class LongVaServiceExtensions
{
    /// <summary>Uses the LongVA family (<c>llava_qwen</c> folders: UniRes tiles, CLIP video frames, the <c>qwen_1_5</c> conversation).</summary>
    /// <param name="builder">The model builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static MultimodalModelBuilder UseLongVA(this MultimodalModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(LongVaFamily.Instance);
    }

    /// <summary>Adds the LongVA family to the services as an <see cref="IModelFamily"/> (for folder detection across installed families).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddLongVAFamily(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelFamily>(LongVaFamily.Instance));
        return services;
    }
}
