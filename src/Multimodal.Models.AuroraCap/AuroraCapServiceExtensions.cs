// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Models.AuroraCap;

namespace Multimodal;

/// <summary>Registers the AuroraCap family with a model builder or a service collection.</summary>
public static class AuroraCapServiceExtensions
{
    /// <summary>Uses the AuroraCap family (xtuner layout) with the default kept-token ratio, <see cref="AuroraCapFamily.DefaultTokenKeptRatio"/>.</summary>
    /// <param name="builder">The model builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static MultimodalModelBuilder UseAuroraCap(this MultimodalModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(AuroraCapFamily.Instance);
    }

    /// <summary>Uses the AuroraCap family (xtuner layout) with a model-level kept-token ratio; a request's <c>token_kept_ratio</c> option still overrides it.</summary>
    /// <param name="builder">The model builder.</param>
    /// <param name="tokenKeptRatio">The share of visual tokens ToMe keeps, in (0, 1]: 0.2–0.4 for captioning, 0.5 or more for question answering, 0.8 or more for OCR.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenKeptRatio"/> is not in (0, 1].</exception>
    public static MultimodalModelBuilder UseAuroraCap(this MultimodalModelBuilder builder, double tokenKeptRatio)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseFamily(new AuroraCapFamily(tokenKeptRatio));
    }

    /// <summary>Adds the AuroraCap family (default kept-token ratio) to the services as an <see cref="IModelFamily"/> (for folder detection across installed families).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddAuroraCapFamily(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelFamily>(AuroraCapFamily.Instance));
        return services;
    }
}
