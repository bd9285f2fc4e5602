/* Copyright (c) Multimodal contributors.
   Licensed under the MIT License.
   Prints offsetof() for every FFmpeg struct field FfmpegAbi names, compiled by FfmpegAbiTests against the installed headers. */
#include <stddef.h>
#include <stdio.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
#define P(s, f) printf(#s "_" #f " %zu\n", offsetof(s, f))
int main(void) {
    P(AVFormatContext, nb_streams); P(AVFormatContext, streams); P(AVFormatContext, pb); P(AVFormatContext, duration);
    P(AVIOContext, buffer);
    P(AVStream, index); P(AVStream, codecpar); P(AVStream, time_base); P(AVStream, start_time); P(AVStream, duration);
    P(AVStream, nb_frames); P(AVStream, disposition); P(AVStream, discard); P(AVStream, avg_frame_rate); P(AVStream, r_frame_rate);
    P(AVCodecParameters, codec_type); P(AVCodecParameters, codec_id); P(AVCodecParameters, extradata); P(AVCodecParameters, extradata_size); P(AVCodecParameters, format); P(AVCodecParameters, width); P(AVCodecParameters, height);
    P(AVPacket, pts); P(AVPacket, dts); P(AVPacket, data); P(AVPacket, size); P(AVPacket, stream_index); P(AVPacket, flags);
    P(AVFrame, data); P(AVFrame, linesize); P(AVFrame, width); P(AVFrame, height); P(AVFrame, format); P(AVFrame, pts); P(AVFrame, best_effort_timestamp);
    printf("AVRational_size %zu\n", sizeof(AVRational));
    printf("VERSIONS %u %u %u %u\n", LIBAVFORMAT_VERSION_MAJOR, LIBAVCODEC_VERSION_MAJOR, LIBAVUTIL_VERSION_MAJOR, LIBSWSCALE_VERSION_MAJOR);
    return 0;
}
