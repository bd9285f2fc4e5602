// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Multimodal.Media.Video;

namespace Multimodal;

/// <summary>Registers the FFmpeg video frame source with a model builder or a service collection.</summary>
public static class VideoServiceExtensions
{
    /// <summary>Uses FFmpeg 5.1 to read video frames (<see cref="FfmpegVideoFrameSource"/>).</summary>
    /// <param name="builder">The model builder.</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> uses <see cref="FfmpegVideoFrameSource.Shared"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MultimodalModelBuilder UseVideo(this MultimodalModelBuilder builder, Action<FfmpegVideoFrameSourceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseVideoFrameSource(Create(configure));
    }

    /// <summary>Adds <see cref="FfmpegVideoFrameSource"/> as the <see cref="IVideoFrameSource"/> (unless one is registered); nothing loads until first use.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> uses <see cref="FfmpegVideoFrameSource.Shared"/>.</param>
    /// <returns>The services.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddMultimodalVideo(this IServiceCollection services, Action<FfmpegVideoFrameSourceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IVideoFrameSource>(_ => Create(configure));
        return services;
    }

    private static FfmpegVideoFrameSource Create(Action<FfmpegVideoFrameSourceOptions>? configure)
    {
        if (configure is null)
        {
            return FfmpegVideoFrameSource.Shared;
        }

        var options = new FfmpegVideoFrameSourceOptions();
        configure(options);
        return new FfmpegVideoFrameSource(options);
    }
}
