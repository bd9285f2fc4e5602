// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video;

/// <summary>Facts about a video's first video stream, read from the container when it is opened.</summary>
/// <remarks>
/// Durations and the frame count are the values <c>ffprobe -show_entries stream=nb_frames,duration:format=duration</c>
/// prints. When the container does not store a frame count (Matroska, WebM, AVI, MPEG-TS…), <see cref="FrameCount"/>
/// is the number of video packets counted by a scan of the file, and <see cref="FrameCountIsExact"/> is false.
/// </remarks>
public sealed record VideoInfo
{
    /// <summary>Gets the video's duration: the stream's own when the container records it, otherwise the container's.</summary>
    public TimeSpan Duration => StreamDuration ?? ContainerDuration ?? TimeSpan.Zero;

    /// <summary>Gets the video stream's duration (ffprobe's <c>stream=duration</c>), when the container records it.</summary>
    public TimeSpan? StreamDuration { get; init; }

    /// <summary>Gets the container's duration (ffprobe's <c>format=duration</c>), when known.</summary>
    public TimeSpan? ContainerDuration { get; init; }

    /// <summary>Gets the number of frames: the container's <c>nb_frames</c> when it stores one, otherwise a count of the stream's packets.</summary>
    public int FrameCount { get; init; }

    /// <summary>Gets whether <see cref="FrameCount"/> is the container's own count (<c>nb_frames</c>) rather than a packet count from a scan.</summary>
    public bool FrameCountIsExact { get; init; }

    /// <summary>Gets the frame rate: the stream's average rate (<c>avg_frame_rate</c>), or its base rate (<c>r_frame_rate</c>) when no average is known; 0 when neither is.</summary>
    public double FramesPerSecond { get; init; }

    /// <summary>Gets the coded width in pixels (the width of decoded frames, before any rotation).</summary>
    public int Width { get; init; }

    /// <summary>Gets the coded height in pixels.</summary>
    public int Height { get; init; }

    /// <summary>Gets FFmpeg's name of the codec (<c>avcodec_get_name</c>), for example <c>h264</c>, <c>hevc</c>, <c>vp9</c>.</summary>
    public string Codec { get; init; } = string.Empty;

    /// <summary>Gets FFmpeg's name of the stored pixel format (for example <c>yuv420p</c>), when known.</summary>
    public string? PixelFormat { get; init; }

    /// <summary>Gets the rotation of the stream's display matrix (<c>av_display_rotation_get</c>, counter-clockwise degrees, the <c>rotation</c> ffprobe prints), rounded to 0, 90, 180 or 270.</summary>
    /// <remarks>
    /// A player shows the picture turned counter-clockwise by this angle. Decoded frames are not rotated, as in PyAV;
    /// rotate them yourself if the model should see the upright picture.
    /// </remarks>
    public int RotationDegrees { get; init; }

    /// <summary>Gets the index of the decoded stream in the container (the first video stream that is not cover art).</summary>
    public int StreamIndex { get; init; }
}
