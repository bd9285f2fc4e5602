// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>Every FFmpeg 5.1 struct field offset this package reads or writes, in bytes, for x86-64 and arm64 Linux (LP64).</summary>
/// <remarks>
/// FFmpeg's public structs change layout between major versions, which is why the loader accepts only the majors listed
/// in <see cref="FfmpegLibraries"/>. The ABI test compiles a C program against the installed headers and checks every
/// constant here against <c>offsetof</c>; a constant's name is <c>Struct_field</c>, as the C program prints it.
/// </remarks>
internal static class FfmpegAbi
{
    /// <summary><c>offsetof(AVFormatContext, nb_streams)</c> (unsigned int).</summary>
    public const int AVFormatContext_nb_streams = 44;

    /// <summary><c>offsetof(AVFormatContext, streams)</c> (AVStream **).</summary>
    public const int AVFormatContext_streams = 48;

    /// <summary><c>offsetof(AVFormatContext, pb)</c> (AVIOContext *); written before <c>avformat_open_input</c> for stream input.</summary>
    public const int AVFormatContext_pb = 32;

    /// <summary><c>offsetof(AVFormatContext, duration)</c> (int64_t, AV_TIME_BASE units).</summary>
    public const int AVFormatContext_duration = 72;

    /// <summary><c>offsetof(AVIOContext, buffer)</c> (unsigned char *), freed with the context.</summary>
    public const int AVIOContext_buffer = 8;

    /// <summary><c>offsetof(AVStream, index)</c> (int).</summary>
    public const int AVStream_index = 0;

    /// <summary><c>offsetof(AVStream, codecpar)</c> (AVCodecParameters *).</summary>
    public const int AVStream_codecpar = 208;

    /// <summary><c>offsetof(AVStream, time_base)</c> (AVRational).</summary>
    public const int AVStream_time_base = 16;

    /// <summary><c>offsetof(AVStream, start_time)</c> (int64_t, stream time base).</summary>
    public const int AVStream_start_time = 24;

    /// <summary><c>offsetof(AVStream, duration)</c> (int64_t, stream time base).</summary>
    public const int AVStream_duration = 32;

    /// <summary><c>offsetof(AVStream, nb_frames)</c> (int64_t, 0 when unknown).</summary>
    public const int AVStream_nb_frames = 40;

    /// <summary><c>offsetof(AVStream, disposition)</c> (int, AV_DISPOSITION_* bits).</summary>
    public const int AVStream_disposition = 48;

    /// <summary><c>offsetof(AVStream, discard)</c> (enum AVDiscard); written to make the demuxer drop other streams.</summary>
    public const int AVStream_discard = 52;

    /// <summary><c>offsetof(AVStream, avg_frame_rate)</c> (AVRational).</summary>
    public const int AVStream_avg_frame_rate = 72;

    /// <summary><c>offsetof(AVStream, r_frame_rate)</c> (AVRational).</summary>
    public const int AVStream_r_frame_rate = 200;

    /// <summary><c>offsetof(AVCodecParameters, codec_type)</c> (enum AVMediaType).</summary>
    public const int AVCodecParameters_codec_type = 0;

    /// <summary><c>offsetof(AVCodecParameters, codec_id)</c> (enum AVCodecID).</summary>
    public const int AVCodecParameters_codec_id = 4;

    /// <summary><c>offsetof(AVCodecParameters, extradata)</c> (uint8_t *).</summary>
    public const int AVCodecParameters_extradata = 16;

    /// <summary><c>offsetof(AVCodecParameters, extradata_size)</c> (int).</summary>
    public const int AVCodecParameters_extradata_size = 24;

    /// <summary><c>offsetof(AVCodecParameters, format)</c> (int, an AVPixelFormat for video).</summary>
    public const int AVCodecParameters_format = 28;

    /// <summary><c>offsetof(AVCodecParameters, width)</c> (int).</summary>
    public const int AVCodecParameters_width = 56;

    /// <summary><c>offsetof(AVCodecParameters, height)</c> (int).</summary>
    public const int AVCodecParameters_height = 60;

    /// <summary><c>offsetof(AVPacket, pts)</c> (int64_t).</summary>
    public const int AVPacket_pts = 8;

    /// <summary><c>offsetof(AVPacket, dts)</c> (int64_t).</summary>
    public const int AVPacket_dts = 16;

    /// <summary><c>offsetof(AVPacket, data)</c> (uint8_t *).</summary>
    public const int AVPacket_data = 24;

    /// <summary><c>offsetof(AVPacket, size)</c> (int).</summary>
    public const int AVPacket_size = 32;

    /// <summary><c>offsetof(AVPacket, stream_index)</c> (int).</summary>
    public const int AVPacket_stream_index = 36;

    /// <summary><c>offsetof(AVPacket, flags)</c> (int, AV_PKT_FLAG_* bits).</summary>
    public const int AVPacket_flags = 40;

    /// <summary><c>offsetof(AVFrame, data)</c> (uint8_t *[8]).</summary>
    public const int AVFrame_data = 0;

    /// <summary><c>offsetof(AVFrame, linesize)</c> (int[8]).</summary>
    public const int AVFrame_linesize = 64;

    /// <summary><c>offsetof(AVFrame, width)</c> (int).</summary>
    public const int AVFrame_width = 104;

    /// <summary><c>offsetof(AVFrame, height)</c> (int).</summary>
    public const int AVFrame_height = 108;

    /// <summary><c>offsetof(AVFrame, format)</c> (int, an AVPixelFormat).</summary>
    public const int AVFrame_format = 116;

    /// <summary><c>offsetof(AVFrame, pts)</c> (int64_t).</summary>
    public const int AVFrame_pts = 136;

    /// <summary><c>offsetof(AVFrame, best_effort_timestamp)</c> (int64_t).</summary>
    public const int AVFrame_best_effort_timestamp = 344;

    /// <summary><c>sizeof(AVRational)</c>: two ints, numerator first.</summary>
    public const int AVRational_size = 8;
}
