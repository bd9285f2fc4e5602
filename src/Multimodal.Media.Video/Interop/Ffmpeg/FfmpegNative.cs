// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>FFmpeg 5.1 constants (error codes, flags and enum values) this package uses.</summary>
internal static class Ff
{
    /// <summary>AV_NOPTS_VALUE: no timestamp.</summary>
    public const long NoPts = long.MinValue;

    /// <summary>AVERROR_EOF.</summary>
    public const int ErrorEof = -541478725;

    /// <summary>AVERROR(EAGAIN).</summary>
    public const int ErrorAgain = -11;

    /// <summary>AVERROR(EIO).</summary>
    public const int ErrorIo = -5;

    /// <summary>AVERROR(ENOMEM).</summary>
    public const int ErrorNoMemory = -12;

    /// <summary>AVERROR_INVALIDDATA.</summary>
    public const int ErrorInvalidData = -1094995529;

    /// <summary>AVMEDIA_TYPE_VIDEO.</summary>
    public const int MediaTypeVideo = 0;

    /// <summary>AV_DISPOSITION_ATTACHED_PIC: a cover image, not a video.</summary>
    public const int DispositionAttachedPic = 1 << 10;

    /// <summary>AVDISCARD_ALL.</summary>
    public const int DiscardAll = 48;

    /// <summary>AVDISCARD_NONREF (for <c>skip_frame</c>).</summary>
    public const int DiscardNonRef = 8;

    /// <summary>AVDISCARD_DEFAULT (for <c>skip_frame</c>).</summary>
    public const int DiscardDefault = 0;

    /// <summary>AV_PKT_FLAG_KEY.</summary>
    public const int PacketFlagKey = 1;

    /// <summary>AV_PKT_FLAG_CORRUPT: the packet is damaged or was read only in part.</summary>
    public const int PacketFlagCorrupt = 2;

    /// <summary>AV_PKT_FLAG_DISCARD: the frame decoded from this packet is dropped (edit lists).</summary>
    public const int PacketFlagDiscard = 4;

    /// <summary>AVSEEK_FLAG_BACKWARD.</summary>
    public const int SeekFlagBackward = 1;

    /// <summary>AVSEEK_FLAG_BYTE.</summary>
    public const int SeekFlagByte = 2;

    /// <summary>AVSEEK_SIZE, the <c>whence</c> that asks an AVIO seek callback for the stream size.</summary>
    public const int AvioSeekSize = 0x10000;

    /// <summary>AVSEEK_FORCE, a hint bit in <c>whence</c>.</summary>
    public const int AvioSeekForce = 0x20000;

    /// <summary>AV_PKT_DATA_DISPLAYMATRIX.</summary>
    public const int PacketDataDisplayMatrix = 5;

    /// <summary>AV_PIX_FMT_RGB24.</summary>
    public const int PixelFormatRgb24 = 2;

    /// <summary>SWS_BILINEAR, the interpolation PyAV's <c>VideoFrame.reformat</c> uses by default.</summary>
    public const int SwsBilinear = 2;

    /// <summary>AV_OPT_SEARCH_CHILDREN.</summary>
    public const int OptSearchChildren = 1;
}

/// <summary>libavformat imports.</summary>
internal static unsafe partial class AvFormatNative
{
    private const string Lib = FfmpegLibraries.AvFormat;

    // Any call into this class first installs the assembly's resolver, so the logical names resolve to the checked libraries.
    static AvFormatNative() => FfmpegLibraries.RegisterResolver();

    // AVFormatContext *avformat_alloc_context(void);
    [LibraryImport(Lib, EntryPoint = "avformat_alloc_context")]
    public static partial IntPtr AllocContext();

    // int avformat_open_input(AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options);
    [LibraryImport(Lib, EntryPoint = "avformat_open_input", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenInput(ref IntPtr ps, string? url, IntPtr fmt, IntPtr options);

    // int avformat_find_stream_info(AVFormatContext *ic, AVDictionary **options);
    [LibraryImport(Lib, EntryPoint = "avformat_find_stream_info")]
    public static partial int FindStreamInfo(SafeAvFormatContextHandle ic, IntPtr options);

    // void avformat_close_input(AVFormatContext **s);
    [LibraryImport(Lib, EntryPoint = "avformat_close_input")]
    public static partial void CloseInput(ref IntPtr s);

    // void avformat_free_context(AVFormatContext *s);
    [LibraryImport(Lib, EntryPoint = "avformat_free_context")]
    public static partial void FreeContext(IntPtr s);

    // int av_read_frame(AVFormatContext *s, AVPacket *pkt);
    [LibraryImport(Lib, EntryPoint = "av_read_frame")]
    public static partial int ReadFrame(SafeAvFormatContextHandle s, SafeAvPacketHandle pkt);

    // int av_seek_frame(AVFormatContext *s, int stream_index, int64_t timestamp, int flags);
    [LibraryImport(Lib, EntryPoint = "av_seek_frame")]
    public static partial int SeekFrame(SafeAvFormatContextHandle s, int streamIndex, long timestamp, int flags);

    // uint8_t *av_stream_get_side_data(const AVStream *stream, enum AVPacketSideDataType type, size_t *size);
    [LibraryImport(Lib, EntryPoint = "av_stream_get_side_data")]
    public static partial byte* StreamGetSideData(IntPtr stream, int type, out nuint size);

    // AVIOContext *avio_alloc_context(unsigned char *buffer, int buffer_size, int write_flag, void *opaque,
    //     int (*read_packet)(void *opaque, uint8_t *buf, int buf_size),
    //     int (*write_packet)(void *opaque, uint8_t *buf, int buf_size),
    //     int64_t (*seek)(void *opaque, int64_t offset, int whence));
    [LibraryImport(Lib, EntryPoint = "avio_alloc_context")]
    public static partial IntPtr AvioAllocContext(
        IntPtr buffer,
        int bufferSize,
        int writeFlag,
        IntPtr opaque,
        delegate* unmanaged<IntPtr, byte*, int, int> readPacket,
        IntPtr writePacket,
        delegate* unmanaged<IntPtr, long, int, long> seek);

    // void avio_context_free(AVIOContext **s);
    [LibraryImport(Lib, EntryPoint = "avio_context_free")]
    public static partial void AvioContextFree(ref IntPtr s);
}

/// <summary>libavcodec imports.</summary>
internal static unsafe partial class AvCodecNative
{
    private const string Lib = FfmpegLibraries.AvCodec;

    // Any call into this class first installs the assembly's resolver, so the logical names resolve to the checked libraries.
    static AvCodecNative() => FfmpegLibraries.RegisterResolver();

    // const AVCodec *avcodec_find_decoder(enum AVCodecID id);
    [LibraryImport(Lib, EntryPoint = "avcodec_find_decoder")]
    public static partial IntPtr FindDecoder(int id);

    // const char *avcodec_get_name(enum AVCodecID id);
    [LibraryImport(Lib, EntryPoint = "avcodec_get_name")]
    public static partial byte* GetName(int id);

    // AVCodecContext *avcodec_alloc_context3(const AVCodec *codec);
    [LibraryImport(Lib, EntryPoint = "avcodec_alloc_context3")]
    public static partial SafeAvCodecContextHandle AllocContext3(IntPtr codec);

    // void avcodec_free_context(AVCodecContext **avctx);
    [LibraryImport(Lib, EntryPoint = "avcodec_free_context")]
    public static partial void FreeContext(ref IntPtr avctx);

    // int avcodec_parameters_to_context(AVCodecContext *codec, const AVCodecParameters *par);
    [LibraryImport(Lib, EntryPoint = "avcodec_parameters_to_context")]
    public static partial int ParametersToContext(SafeAvCodecContextHandle codec, IntPtr par);

    // int avcodec_open2(AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options);
    [LibraryImport(Lib, EntryPoint = "avcodec_open2")]
    public static partial int Open2(SafeAvCodecContextHandle avctx, IntPtr codec, IntPtr options);

    // int avcodec_send_packet(AVCodecContext *avctx, const AVPacket *avpkt);
    [LibraryImport(Lib, EntryPoint = "avcodec_send_packet")]
    public static partial int SendPacket(SafeAvCodecContextHandle avctx, IntPtr avpkt);

    // int avcodec_receive_frame(AVCodecContext *avctx, AVFrame *frame);
    [LibraryImport(Lib, EntryPoint = "avcodec_receive_frame")]
    public static partial int ReceiveFrame(SafeAvCodecContextHandle avctx, SafeAvFrameHandle frame);

    // void avcodec_flush_buffers(AVCodecContext *avctx);
    [LibraryImport(Lib, EntryPoint = "avcodec_flush_buffers")]
    public static partial void FlushBuffers(SafeAvCodecContextHandle avctx);

    // AVPacket *av_packet_alloc(void);
    [LibraryImport(Lib, EntryPoint = "av_packet_alloc")]
    public static partial SafeAvPacketHandle PacketAlloc();

    // void av_packet_free(AVPacket **pkt);
    [LibraryImport(Lib, EntryPoint = "av_packet_free")]
    public static partial void PacketFree(ref IntPtr pkt);

    // void av_packet_unref(AVPacket *pkt);
    [LibraryImport(Lib, EntryPoint = "av_packet_unref")]
    public static partial void PacketUnref(SafeAvPacketHandle pkt);

    // int av_packet_make_writable(AVPacket *pkt);
    [LibraryImport(Lib, EntryPoint = "av_packet_make_writable")]
    public static partial int PacketMakeWritable(SafeAvPacketHandle pkt);

    // void av_shrink_packet(AVPacket *pkt, int size);
    [LibraryImport(Lib, EntryPoint = "av_shrink_packet")]
    public static partial void ShrinkPacket(SafeAvPacketHandle pkt, int size);
}

/// <summary>libavutil imports.</summary>
internal static unsafe partial class AvUtilNative
{
    private const string Lib = FfmpegLibraries.AvUtil;

    // Any call into this class first installs the assembly's resolver, so the logical names resolve to the checked libraries.
    static AvUtilNative() => FfmpegLibraries.RegisterResolver();

    // AVFrame *av_frame_alloc(void);
    [LibraryImport(Lib, EntryPoint = "av_frame_alloc")]
    public static partial SafeAvFrameHandle FrameAlloc();

    // void av_frame_free(AVFrame **frame);
    [LibraryImport(Lib, EntryPoint = "av_frame_free")]
    public static partial void FrameFree(ref IntPtr frame);

    // void av_frame_unref(AVFrame *frame);
    [LibraryImport(Lib, EntryPoint = "av_frame_unref")]
    public static partial void FrameUnref(SafeAvFrameHandle frame);

    // void *av_malloc(size_t size);
    [LibraryImport(Lib, EntryPoint = "av_malloc")]
    public static partial IntPtr Malloc(nuint size);

    // void av_free(void *ptr);
    [LibraryImport(Lib, EntryPoint = "av_free")]
    public static partial void Free(IntPtr ptr);

    // int av_strerror(int errnum, char *errbuf, size_t errbuf_size);
    [LibraryImport(Lib, EntryPoint = "av_strerror")]
    public static partial int StrError(int errnum, byte* errbuf, nuint errbufSize);

    // int av_opt_set(void *obj, const char *name, const char *val, int search_flags);
    [LibraryImport(Lib, EntryPoint = "av_opt_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OptSet(SafeAvCodecContextHandle obj, string name, string val, int searchFlags);

    // int av_opt_set_int(void *obj, const char *name, int64_t val, int search_flags);
    [LibraryImport(Lib, EntryPoint = "av_opt_set_int", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OptSetInt(SafeAvCodecContextHandle obj, string name, long val, int searchFlags);

    // int av_opt_set_q(void *obj, const char *name, AVRational val, int search_flags);
    [LibraryImport(Lib, EntryPoint = "av_opt_set_q", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OptSetQ(SafeAvCodecContextHandle obj, string name, AvRational val, int searchFlags);

    // int av_opt_get_int(void *obj, const char *name, int search_flags, int64_t *out_val);
    [LibraryImport(Lib, EntryPoint = "av_opt_get_int", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OptGetInt(SafeAvCodecContextHandle obj, string name, int searchFlags, out long value);

    // double av_display_rotation_get(const int32_t matrix[9]);
    [LibraryImport(Lib, EntryPoint = "av_display_rotation_get")]
    public static partial double DisplayRotationGet(int* matrix);

    // const char *av_get_pix_fmt_name(enum AVPixelFormat pix_fmt);
    [LibraryImport(Lib, EntryPoint = "av_get_pix_fmt_name")]
    public static partial byte* GetPixFmtName(int pixFmt);

    /// <summary>Describes an FFmpeg error code.</summary>
    /// <param name="error">A negative AVERROR value.</param>
    /// <returns>FFmpeg's message, for example <c>Invalid data found when processing input</c>.</returns>
    public static string ErrorMessage(int error)
    {
        var buffer = stackalloc byte[256];
        return StrError(error, buffer, 256) == 0
            ? Marshal.PtrToStringUTF8((IntPtr)buffer) ?? $"error {error}"
            : $"FFmpeg error {error}";
    }
}

/// <summary>libswscale imports.</summary>
internal static unsafe partial class SwScaleNative
{
    private const string Lib = FfmpegLibraries.SwScale;

    // Any call into this class first installs the assembly's resolver, so the logical names resolve to the checked libraries.
    static SwScaleNative() => FfmpegLibraries.RegisterResolver();

    // struct SwsContext *sws_getCachedContext(struct SwsContext *context, int srcW, int srcH, enum AVPixelFormat srcFormat,
    //     int dstW, int dstH, enum AVPixelFormat dstFormat, int flags, SwsFilter *srcFilter, SwsFilter *dstFilter, const double *param);
    [LibraryImport(Lib, EntryPoint = "sws_getCachedContext")]
    public static partial IntPtr GetCachedContext(IntPtr context, int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags, IntPtr srcFilter, IntPtr dstFilter, IntPtr param);

    // int sws_scale(struct SwsContext *c, const uint8_t *const srcSlice[], const int srcStride[], int srcSliceY, int srcSliceH,
    //     uint8_t *const dst[], const int dstStride[]);
    [LibraryImport(Lib, EntryPoint = "sws_scale")]
    public static partial int Scale(IntPtr c, byte** srcSlice, int* srcStride, int srcSliceY, int srcSliceH, byte** dst, int* dstStride);

    // void sws_freeContext(struct SwsContext *swsContext);
    [LibraryImport(Lib, EntryPoint = "sws_freeContext")]
    public static partial void FreeContext(IntPtr swsContext);
}

/// <summary>AVRational: a fraction of two ints.</summary>
/// <param name="Num">The numerator.</param>
/// <param name="Den">The denominator.</param>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct AvRational(int Num, int Den)
{
    /// <summary>Gets the value as a double, or 0 when the denominator is 0.</summary>
    public double Value => Den == 0 ? 0 : (double)Num / Den;

    /// <summary>Gets whether both parts are positive.</summary>
    public bool IsPositive => Num > 0 && Den > 0;
}

/// <summary>Reads FFmpeg struct fields at the offsets in <see cref="FfmpegAbi"/>.</summary>
internal static unsafe class Field
{
    /// <summary>Reads a field.</summary>
    /// <typeparam name="T">The field's type.</typeparam>
    /// <param name="structure">The struct's address.</param>
    /// <param name="offset">The field's offset from <see cref="FfmpegAbi"/>.</param>
    /// <returns>The value.</returns>
    public static T Read<T>(IntPtr structure, int offset)
        where T : unmanaged => *(T*)((byte*)structure + offset);

    /// <summary>Writes a field.</summary>
    /// <typeparam name="T">The field's type.</typeparam>
    /// <param name="structure">The struct's address.</param>
    /// <param name="offset">The field's offset from <see cref="FfmpegAbi"/>.</param>
    /// <param name="value">The value.</param>
    public static void Write<T>(IntPtr structure, int offset, T value)
        where T : unmanaged => *(T*)((byte*)structure + offset) = value;
}
