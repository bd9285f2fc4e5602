// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Media.Pdf;

namespace Multimodal;

/// <summary>Registers the poppler-based PDF rasteriser with a model builder or a service collection.</summary>
public static class PdfServiceExtensions
{
    /// <summary>Uses <see cref="PdfRasterizer"/> (poppler-glib and cairo) to render the PDF parts of requests.</summary>
    /// <param name="builder">The model builder.</param>
    /// <param name="configure">Adjusts the rasteriser options; <see langword="null"/> uses <see cref="PdfRasterizer.Shared"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MultimodalModelBuilder UsePdf(this MultimodalModelBuilder builder, Action<PdfRasterizerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UsePdfRasterizer(Create(configure));
    }

    /// <summary>Adds <see cref="PdfRasterizer"/> to the services as a singleton <see cref="IPdfRasterizer"/> (and as itself), unless one is already registered.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the rasteriser options; <see langword="null"/> uses <see cref="PdfRasterizer.Shared"/>.</param>
    /// <returns>The services.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddMultimodalPdf(this IServiceCollection services, Action<PdfRasterizerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(_ => Create(configure));
        services.TryAddSingleton<IPdfRasterizer>(sp => sp.GetRequiredService<PdfRasterizer>());
        return services;
    }

    private static PdfRasterizer Create(Action<PdfRasterizerOptions>? configure)
    {
        if (configure is null)
        {
            return PdfRasterizer.Shared;
        }

        var options = new PdfRasterizerOptions();
        configure(options);
        return new PdfRasterizer(options);
    }
}
