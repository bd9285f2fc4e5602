// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Media.Video.Interop.Ffmpeg;

namespace Multimodal.Media.Video.Decoding;

/// <summary>One demuxer and one decoder over one input: reads the stream's facts, scans packets, and decodes chosen frames to RGB.</summary>
/// <remarks>Not thread-safe: parallel decoding uses one session per worker. Owns every native object it creates.</remarks>
internal sealed unsafe class VideoDecoderSession : IDisposable
{
    private const int MaxConsecutiveErrors = 1000;

    private readonly SafeAvFormatContextHandle _format;
    private readonly VideoOpenOptions _options;
    private SafeAvCodecContextHandle _codec;
    private readonly SafeAvPacketHandle _packet;
    private readonly SafeAvFrameHandle _frame;
    private readonly SafeSwsContextHandle _scaler = new();
    private readonly IntPtr _stream;
    private readonly StreamIo.State? _io;
    private readonly Stream? _ownedStream;
    private readonly bool _skipNonReference;
    private readonly string _description;
    private readonly string? _mediaType;

    private FrameIndex? _positions;
    private HashSet<int>? _wantedPositions;
    private HashSet<int>? _unneededReferences;
    private bool _deblockingOff;
    private H264HeaderParser? _hollowParser;
    private bool _hollowUnavailable;
    private bool _concealmentOff;
    private long _defaultConcealment = -1;
    private int _lastWantedPosition = -1;
    private bool _skipping;
    private int _nextPosition = -1;
    private long _lastOutputPts = long.MinValue;
    private bool _draining;
    private bool _drainedAfterWanted;
    private bool _atStart = true;
    private bool _singleThreaded;

    private VideoDecoderSession(SafeAvFormatContextHandle format, IntPtr stream, int streamIndex, SafeAvCodecContextHandle codec, StreamIo.State? io, Stream? ownedStream, VideoOpenOptions options, string description)
    {
        _format = format;
        _stream = stream;
        StreamIndex = streamIndex;
        _codec = codec;
        _io = io;
        _ownedStream = ownedStream;
        _options = options;
        _singleThreaded = options.DecoderThreads == 1;
        _skipNonReference = options.SkipNonReferenceFrames;
        _mediaType = options.MediaType;
        _description = description;
        TimeBase = Field.Read<AvRational>(stream, FfmpegAbi.AVStream_time_base);
        var start = Field.Read<long>(stream, FfmpegAbi.AVStream_start_time);
        StartTime = start == Ff.NoPts ? 0 : start;
        _packet = AvCodecNative.PacketAlloc();
        _frame = AvUtilNative.FrameAlloc();
        if (_packet.IsInvalid || _frame.IsInvalid)
        {
            Dispose();
            throw new OutOfMemoryException("FFmpeg could not allocate a packet or frame.");
        }
    }

    /// <summary>Gets the index of the decoded stream in the container.</summary>
    public int StreamIndex { get; }

    /// <summary>Gets the stream's time base.</summary>
    public AvRational TimeBase { get; }

    /// <summary>Gets the stream's start time (0 when unknown), subtracted from timestamps.</summary>
    public long StartTime { get; }

    /// <summary>Gets how many packets this session has decoded from their slice headers alone (<see cref="VideoOpenOptions.HollowUnneededReferences"/>).</summary>
    public int HollowedPictures { get; private set; }

    /// <summary>Gets how the input is named in messages (<c>file '…'</c> or <c>stream</c>).</summary>
    public string Description => _description;

    /// <summary>Opens a file.</summary>
    /// <param name="path">The full path of an existing file.</param>
    /// <param name="options">Open options.</param>
    /// <returns>The session.</returns>
    /// <exception cref="InvalidMediaException">The file is not a video FFmpeg can demux and decode.</exception>
    public static VideoDecoderSession OpenFile(string path, VideoOpenOptions options) => Open(path, null, false, options, $"file '{path}'");

    /// <summary>Opens a stream through a custom I/O context.</summary>
    /// <param name="stream">A readable, seekable stream positioned at the start of the video.</param>
    /// <param name="ownsStream">Whether the session disposes the stream.</param>
    /// <param name="options">Open options.</param>
    /// <returns>The session.</returns>
    /// <exception cref="InvalidMediaException">The data is not a video FFmpeg can demux and decode.</exception>
    public static VideoDecoderSession OpenStream(Stream stream, bool ownsStream, VideoOpenOptions options) => Open(null, stream, ownsStream, options, "stream");

    /// <summary>Reads the stream's facts from the container (no decoding beyond what opening did).</summary>
    /// <returns>The facts; <see cref="VideoInfo.FrameCount"/> is the container's <c>nb_frames</c> (0 when unknown).</returns>
    public VideoInfo ReadInfo()
    {
        var parameters = Field.Read<IntPtr>(_stream, FfmpegAbi.AVStream_codecpar);
        var codecId = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_codec_id);
        var pixelFormat = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_format);
        var nbFrames = Field.Read<long>(_stream, FfmpegAbi.AVStream_nb_frames);
        var streamDuration = Field.Read<long>(_stream, FfmpegAbi.AVStream_duration);
        var formatDuration = Field.Read<long>(_format.DangerousGetHandle(), FfmpegAbi.AVFormatContext_duration);
        var average = Field.Read<AvRational>(_stream, FfmpegAbi.AVStream_avg_frame_rate);
        var real = Field.Read<AvRational>(_stream, FfmpegAbi.AVStream_r_frame_rate);
        var rate = average.IsPositive ? average : real;
        TimeSpan? streamSpan = streamDuration != Ff.NoPts && streamDuration >= 0 && TimeBase.IsPositive ? Ticks(streamDuration, TimeBase) : null;
        TimeSpan? formatSpan = formatDuration != Ff.NoPts && formatDuration >= 0 ? Ticks(formatDuration, new AvRational(1, 1_000_000)) : null;
        var pixelName = pixelFormat < 0 ? null : Marshal.PtrToStringUTF8((IntPtr)AvUtilNative.GetPixFmtName(pixelFormat));
        return new VideoInfo
        {
            StreamDuration = streamSpan,
            ContainerDuration = formatSpan,
            FrameCount = nbFrames > 0 ? (int)Math.Min(nbFrames, int.MaxValue) : 0,
            FrameCountIsExact = nbFrames > 0,
            FramesPerSecond = rate.IsPositive ? rate.Value : 0,
            Width = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_width),
            Height = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_height),
            Codec = Marshal.PtrToStringUTF8((IntPtr)AvCodecNative.GetName(codecId)) ?? "unknown",
            PixelFormat = pixelName,
            RotationDegrees = ReadRotation(),
            StreamIndex = StreamIndex,
        };
    }

    /// <summary>Reads every packet of the video stream without decoding and records its timestamps and flags.</summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The frame index.</returns>
    /// <exception cref="InvalidMediaException">The stream cannot be read from its start.</exception>
    public FrameIndex Scan(CancellationToken cancellationToken)
    {
        if (!_atStart)
        {
            SeekToStart();
        }

        var packets = new List<ScannedPacket>();
        var h264 = _skipNonReference ? CreateH264Parser() : null;
        var pictures = h264 is null ? null : new List<H264Picture?>();
        while (true)
        {
            if ((packets.Count & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            // A read error other than EOF ends the scan like EOF does: a truncated file holds the packets before the damage.
            if (AvFormatNative.ReadFrame(_format, _packet) < 0)
            {
                break;
            }

            var p = _packet.DangerousGetHandle();
            if (Field.Read<int>(p, FfmpegAbi.AVPacket_stream_index) == StreamIndex)
            {
                packets.Add(new ScannedPacket(Field.Read<long>(p, FfmpegAbi.AVPacket_pts), Field.Read<long>(p, FfmpegAbi.AVPacket_dts), Field.Read<int>(p, FfmpegAbi.AVPacket_flags)));
                if (pictures is not null)
                {
                    var data = Field.Read<IntPtr>(p, FfmpegAbi.AVPacket_data);
                    var size = Field.Read<int>(p, FfmpegAbi.AVPacket_size);
                    pictures.Add(data == IntPtr.Zero || size <= 0 ? null : h264!.ParsePacket(new ReadOnlySpan<byte>((void*)data, size)));
                }
            }

            AvCodecNative.PacketUnref(_packet);
        }

        ThrowIfStreamFailed();

        // A truncated file ends in a packet the demuxer could only read in part (AV_PKT_FLAG_CORRUPT): it decodes to
        // nothing (PyAV raises on it), so it is not counted as a frame.
        while (packets.Count > 0 && (packets[^1].Flags & Ff.PacketFlagCorrupt) != 0)
        {
            packets.RemoveAt(packets.Count - 1);
            pictures?.RemoveAt(pictures.Count - 1);
        }

        _atStart = false;
        _nextPosition = -1;
        var references = pictures is null || h264!.Inconsistent || h264.MaxFrameNum == 0
            ? null
            : H264References.Build(pictures, packets.Select(q => q.Pts).ToArray(), h264.MaxFrameNum, h264.MaxReferenceFrames);
        if (references is not null)
        {
            references.FixedParameterSets = !h264!.ParameterSetsChanged;
        }

        _positions = FrameIndex.Build(packets, references);
        return _positions;
    }

    /// <summary>Names the packets of frames that will be asked for, so that skipping non-reference frames never skips one of them.</summary>
    /// <param name="index">The frame index.</param>
    /// <param name="frames">The frame indices the session will decode next.</param>
    public void SetWanted(FrameIndex index, IEnumerable<int> frames)
    {
        if (!_skipNonReference)
        {
            return;
        }

        _wantedPositions = [];
        _lastWantedPosition = -1;
        var firstKey = int.MaxValue;
        foreach (var i in frames)
        {
            if (index.TryGetPosition(index.PtsByIndex[i], out var position))
            {
                _wantedPositions.Add(position);
                _lastWantedPosition = Math.Max(_lastWantedPosition, position);
                firstKey = Math.Min(firstKey, index.KeyPosition(index.KeyframeFor(i)));
            }
        }

        // Reference pictures that no wanted frame depends on are still sent (their reference marking shapes the buffer)
        // but with their slice data stripped (TryHollow), or else decoded without the deblocking filter: nothing shown
        // or predicted from ever sees their pixels.
        _unneededReferences = null;
        if (index.References is { } references && _wantedPositions.Count > 0)
        {
            var needed = new HashSet<int>();
            references.Close(_wantedPositions, needed);
            if (needed.Min() >= firstKey)
            {
                _unneededReferences = [];
                for (var position = firstKey; position < _lastWantedPosition; position++)
                {
                    if (references.IsReference(position) && !needed.Contains(position))
                    {
                        _unneededReferences.Add(position);
                    }
                }
            }
        }
    }

    /// <summary>Decodes frame <paramref name="frameIndex"/>: seeks to its keyframe unless the decoder is already in front of it in the same run, then decodes forward to its timestamp.</summary>
    /// <param name="index">The frame index of this input.</param>
    /// <param name="frameIndex">The frame, below <see cref="FrameIndex.Count"/>; <see cref="FrameIndex.HasTimestamps"/> must be true.</param>
    /// <param name="width">The output width, or 0 for the frame's own.</param>
    /// <param name="height">The output height, or 0 for the frame's own.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The frame as RGB24.</returns>
    /// <exception cref="InvalidMediaException">The frame cannot be decoded (damaged or truncated data).</exception>
    public VideoFrame DecodeFrame(FrameIndex index, int frameIndex, int width, int height, CancellationToken cancellationToken)
    {
        var target = index.PtsByIndex[frameIndex];
        var keyframe = index.KeyframeFor(frameIndex);

        // Keep decoding instead of seeking when this run already fed the target's keyframe (or a later packet) and has not
        // yet shown the target: seeking would only decode the same packets again.
        // A run drained after its last wanted packet still holds the wanted frames it has not shown yet.
        var running = !_draining || (_drainedAfterWanted && index.TryGetPosition(target, out var position) && _wantedPositions?.Contains(position) == true);
        var ahead = running && _nextPosition > index.KeyPosition(keyframe) && target > _lastOutputPts;
        if (!ahead)
        {
            SeekToKeyframe(index, keyframe);
        }

        for (var attempt = 0; ; attempt++)
        {
            var image = DecodeUntil(index, target, width, height, cancellationToken);
            if (image is not null)
            {
                return new VideoFrame(frameIndex, ToTime(target), image);
            }

            // Missed (the decoder showed a later frame first, or ran dry). With frame threads, a damaged packet can cost
            // the frames decoded alongside it: retry with a single-threaded decoder, which loses only the damaged frame.
            if (attempt == 0 && !_singleThreaded)
            {
                ReopenDecoderSingleThreaded();
                SeekToKeyframe(index, keyframe);
                continue;
            }

            // Then once more from the keyframe before (a frame that references an earlier group of pictures).
            if (attempt <= 1 && keyframe > 0)
            {
                keyframe--;
                SeekToKeyframe(index, keyframe);
                continue;
            }

            throw new InvalidMediaException(
                $"Frame {frameIndex} (pts {target}) of the video {_description} could not be decoded: the data is damaged or truncated.",
                _mediaType);
        }
    }

    /// <summary>Decodes from the start and returns the frames whose decode-output ordinal is wanted; for streams without usable timestamps.</summary>
    /// <param name="frames">Wanted frame indices, ascending and distinct.</param>
    /// <param name="width">The output width, or 0 for the frame's own.</param>
    /// <param name="height">The output height, or 0 for the frame's own.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The frames, in order.</returns>
    /// <exception cref="InvalidMediaException">The stream ends before a wanted frame.</exception>
    public IEnumerable<VideoFrame> DecodeSequential(IReadOnlyList<int> frames, int width, int height, CancellationToken cancellationToken)
    {
        SeekToStart();
        var ordinal = 0;
        var next = 0;
        while (next < frames.Count)
        {
            var status = NextFrame(cancellationToken);
            if (!status)
            {
                throw new InvalidMediaException(
                    $"Frame {frames[next]} of the video {_description} could not be decoded: the stream ended after {ordinal} frames.", _mediaType);
            }

            if (ordinal == frames[next])
            {
                var pts = FramePts();
                var image = Convert(width, height);
                yield return new VideoFrame(ordinal, pts == Ff.NoPts ? TimeSpan.Zero : ToTime(pts), image);
                next++;
            }

            AvUtilNative.FrameUnref(_frame);
            ordinal++;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _scaler.Dispose();
        _frame?.Dispose();
        _packet?.Dispose();
        _codec.Dispose();
        _format.Dispose();
        _ownedStream?.Dispose();
    }

    private static VideoDecoderSession Open(string? path, Stream? stream, bool ownsStream, VideoOpenOptions options, string description)
    {
        FfmpegLibraries.EnsureLoaded();
        var mediaType = options.MediaType;
        SafeAvioContextHandle? io = null;
        StreamIo.State? ioState = null;
        SafeAvFormatContextHandle? format = null;
        SafeAvCodecContextHandle? codec = null;
        try
        {
            var context = AvFormatNative.AllocContext();
            if (context == IntPtr.Zero)
            {
                throw new OutOfMemoryException("avformat_alloc_context failed.");
            }

            if (stream is not null)
            {
                try
                {
                    io = StreamIo.Create(stream, out ioState);
                }
                catch
                {
                    AvFormatNative.FreeContext(context);
                    throw;
                }

                Field.Write(context, FfmpegAbi.AVFormatContext_pb, io.DangerousGetHandle());
            }

            // The "file:" prefix keeps a path with a colon from being taken for another protocol (http:, pipe:, …).
            var url = path is null ? string.Empty : "file:" + path;

            // On failure avformat_open_input frees the context itself (never a caller's pb) and nulls the pointer.
            var rc = AvFormatNative.OpenInput(ref context, url, IntPtr.Zero, IntPtr.Zero);
            RethrowStreamError(ioState);
            if (rc < 0)
            {
                throw new InvalidMediaException($"The {description} is not a readable video: {AvUtilNative.ErrorMessage(rc)}.", mediaType);
            }

            format = SafeAvFormatContextHandle.Adopt(context, io);
            rc = AvFormatNative.FindStreamInfo(format, IntPtr.Zero);
            RethrowStreamError(ioState);
            if (rc < 0)
            {
                throw new InvalidMediaException($"The {description} is not a readable video: {AvUtilNative.ErrorMessage(rc)}.", mediaType);
            }

            var (streamPtr, streamIndex) = FindVideoStream(format.DangerousGetHandle(), description, mediaType);
            codec = OpenDecoder(streamPtr, options, description, mediaType);
            var session = new VideoDecoderSession(format, streamPtr, streamIndex, codec, ioState, ownsStream ? stream : null, options, description);
            format = null;
            codec = null;
            return session;
        }
        finally
        {
            codec?.Dispose();
            format?.Dispose();

            // The format context holds its own reference to io; this drops ours.
            io?.Dispose();
        }
    }

    private H264HeaderParser? CreateH264Parser()
    {
        var parameters = Field.Read<IntPtr>(_stream, FfmpegAbi.AVStream_codecpar);
        var name = Marshal.PtrToStringUTF8((IntPtr)AvCodecNative.GetName(Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_codec_id)));
        var extradata = Field.Read<IntPtr>(parameters, FfmpegAbi.AVCodecParameters_extradata);
        var size = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_extradata_size);
        return name == "h264" && extradata != IntPtr.Zero && size > 0
            ? H264HeaderParser.FromAvcC(new ReadOnlySpan<byte>((void*)extradata, size))
            : null;
    }

    private static (IntPtr Stream, int Index) FindVideoStream(IntPtr format, string description, string? mediaType)
    {
        var count = Field.Read<uint>(format, FfmpegAbi.AVFormatContext_nb_streams);
        var streams = Field.Read<IntPtr>(format, FfmpegAbi.AVFormatContext_streams);
        var found = -1;
        for (var i = 0; i < count; i++)
        {
            var stream = ((IntPtr*)streams)[i];
            var parameters = Field.Read<IntPtr>(stream, FfmpegAbi.AVStream_codecpar);
            var isVideo = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_codec_type) == Ff.MediaTypeVideo;
            var isCover = (Field.Read<int>(stream, FfmpegAbi.AVStream_disposition) & Ff.DispositionAttachedPic) != 0;
            if (found < 0 && isVideo && !isCover)
            {
                found = i;
            }
        }

        if (found < 0)
        {
            throw new InvalidMediaException($"The {description} has no video stream ({count} stream(s), none of them video).", mediaType);
        }

        // The demuxer drops packets of every other stream (audio, subtitles, cover art) without reading them.
        for (var i = 0; i < count; i++)
        {
            if (i != found)
            {
                Field.Write(((IntPtr*)streams)[i], FfmpegAbi.AVStream_discard, Ff.DiscardAll);
            }
        }

        return (((IntPtr*)streams)[found], found);
    }

    private static SafeAvCodecContextHandle OpenDecoder(IntPtr stream, VideoOpenOptions options, string description, string? mediaType)
    {
        var parameters = Field.Read<IntPtr>(stream, FfmpegAbi.AVStream_codecpar);
        var codecId = Field.Read<int>(parameters, FfmpegAbi.AVCodecParameters_codec_id);
        var decoder = AvCodecNative.FindDecoder(codecId);
        if (decoder == IntPtr.Zero)
        {
            var name = Marshal.PtrToStringUTF8((IntPtr)AvCodecNative.GetName(codecId));
            throw new InvalidMediaException($"The {description} uses the codec '{name}', which this FFmpeg build cannot decode.", mediaType);
        }

        var codec = AvCodecNative.AllocContext3(decoder);
        if (codec.IsInvalid)
        {
            codec.Dispose();
            throw new OutOfMemoryException("avcodec_alloc_context3 failed.");
        }

        try
        {
            Check(AvCodecNative.ParametersToContext(codec, parameters), "avcodec_parameters_to_context", description, mediaType);

            // Options rather than struct writes: the AVOption names are stable across FFmpeg versions.
            AvUtilNative.OptSetQ(codec, "pkt_timebase", Field.Read<AvRational>(stream, FfmpegAbi.AVStream_time_base), 0);
            AvUtilNative.OptSetInt(codec, "threads", options.DecoderThreads, 0);
            if (options.SkipNonReferenceFrames)
            {
                // skip_frame is read per packet, which frame threading would make unpredictable.
                AvUtilNative.OptSet(codec, "thread_type", "slice", 0);
            }

            Check(AvCodecNative.Open2(codec, decoder, IntPtr.Zero), "avcodec_open2", description, mediaType);
            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    private static void Check(int rc, string function, string description, string? mediaType)
    {
        if (rc < 0)
        {
            throw new InvalidMediaException($"The decoder for the {description} cannot be set up ({function}: {AvUtilNative.ErrorMessage(rc)}).", mediaType);
        }
    }

    private static TimeSpan Ticks(long value, AvRational timeBase) =>
        TimeSpan.FromTicks((long)Math.Round((double)value * timeBase.Num * TimeSpan.TicksPerSecond / timeBase.Den));

    private static void RethrowStreamError(StreamIo.State? state)
    {
        if (state?.Error is { } error)
        {
            throw new InvalidMediaException($"Reading the video stream failed: {error.Message}", null, error);
        }
    }

    private void ThrowIfStreamFailed() => RethrowStreamError(_io);

    private TimeSpan ToTime(long pts) => Ticks(pts - StartTime, TimeBase);

    private int ReadRotation()
    {
        var data = AvFormatNative.StreamGetSideData(_stream, Ff.PacketDataDisplayMatrix, out var size);
        if (data is null || size < 9 * sizeof(int))
        {
            return 0;
        }

        // Counter-clockwise degrees, the number ffprobe prints as the display matrix's "rotation".
        var degrees = AvUtilNative.DisplayRotationGet((int*)data);
        if (double.IsNaN(degrees))
        {
            return 0;
        }

        var quarter = (int)Math.Round(degrees / 90.0);
        return ((quarter % 4) + 4) % 4 * 90;
    }

    private void SeekToStart()
    {
        if (AvFormatNative.SeekFrame(_format, StreamIndex, long.MinValue + 1, Ff.SeekFlagBackward) < 0
            && AvFormatNative.SeekFrame(_format, -1, 0, Ff.SeekFlagByte) < 0)
        {
            ThrowIfStreamFailed();
            throw new InvalidMediaException($"The video {_description} cannot be rewound to its start.", _mediaType);
        }

        ResetDecoder();
        _atStart = true;
    }

    private void SeekToKeyframe(FrameIndex index, int keyframe)
    {
        if (AvFormatNative.SeekFrame(_format, StreamIndex, index.KeySeekTimestamp(keyframe), Ff.SeekFlagBackward) < 0)
        {
            // Some demuxers cannot seek by time; decoding from the start still finds the frame by its timestamp.
            SeekToStart();
            return;
        }

        ResetDecoder();
        _atStart = false;
    }

    private void ReopenDecoderSingleThreaded()
    {
        var options = _options.Clone();
        options.DecoderThreads = 1;
        var codec = OpenDecoder(_stream, options, _description, _mediaType);
        _codec.Dispose();
        _codec = codec;
        _skipping = false;
        _deblockingOff = false;
        _concealmentOff = false;
        _defaultConcealment = -1;
        _singleThreaded = true;
    }

    private void ResetDecoder()
    {
        AvCodecNative.FlushBuffers(_codec);
        _nextPosition = -1;
        _lastOutputPts = long.MinValue;
        _draining = false;
        _drainedAfterWanted = false;
    }

    private ImageFrame? DecodeUntil(FrameIndex index, long target, int width, int height, CancellationToken cancellationToken)
    {
        var targetPosition = index.TryGetPosition(target, out var tp) ? tp : -1;
        while (NextFrame(cancellationToken, targetPosition))
        {
            var pts = FramePts();
            _lastOutputPts = pts;
            if (pts == target)
            {
                var image = Convert(width, height);
                AvUtilNative.FrameUnref(_frame);
                return image;
            }

            AvUtilNative.FrameUnref(_frame);
            if (pts > target)
            {
                return null;
            }
        }

        return null;
    }

    private long FramePts()
    {
        var f = _frame.DangerousGetHandle();
        var pts = Field.Read<long>(f, FfmpegAbi.AVFrame_pts);
        return pts != Ff.NoPts ? pts : Field.Read<long>(f, FfmpegAbi.AVFrame_best_effort_timestamp);
    }

    /// <summary>Makes the decoder produce its next frame into <see cref="_frame"/>, feeding packets as needed.</summary>
    /// <returns>False when the stream is exhausted.</returns>
    private bool NextFrame(CancellationToken cancellationToken, int targetPosition = -1)
    {
        var errors = 0;
        while (true)
        {
            var rc = AvCodecNative.ReceiveFrame(_codec, _frame);
            if (rc == 0)
            {
                _atStart = false;
                return true;
            }

            if (rc == Ff.ErrorEof)
            {
                return false;
            }

            if (rc != Ff.ErrorAgain && ++errors > MaxConsecutiveErrors)
            {
                throw new InvalidMediaException($"The video {_description} cannot be decoded: {AvUtilNative.ErrorMessage(rc)}.", _mediaType);
            }

            if (_draining)
            {
                return false;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (!FeedPacket(targetPosition))
            {
                // End of data (or a read error in truncated data): drain the frames the decoder still holds.
                ThrowIfStreamFailed();
                AvCodecNative.SendPacket(_codec, IntPtr.Zero);
                _draining = true;
            }
        }
    }

    private bool FeedPacket(int targetPosition)
    {
        while (true)
        {
            if (AvFormatNative.ReadFrame(_format, _packet) < 0)
            {
                return false;
            }

            var p = _packet.DangerousGetHandle();
            if (Field.Read<int>(p, FfmpegAbi.AVPacket_stream_index) != StreamIndex)
            {
                AvCodecNative.PacketUnref(_packet);
                continue;
            }

            var position = -1;
            var pts = Field.Read<long>(p, FfmpegAbi.AVPacket_pts);
            if (pts != Ff.NoPts && _positions?.TryGetPosition(pts, out position) == true)
            {
                _nextPosition = position + 1;
            }
            else if (_nextPosition >= 0)
            {
                position = _nextPosition++;
            }

            if (_skipNonReference)
            {
                // Frames nobody asked for and nothing references need not be decoded at all.
                var skip = position >= 0 && position != targetPosition && _wantedPositions?.Contains(position) != true;
                if (skip != _skipping)
                {
                    AvUtilNative.OptSetInt(_codec, "skip_frame", skip ? Ff.DiscardNonRef : Ff.DiscardDefault, 0);
                    _skipping = skip;
                }

                var unneeded = position >= 0 && _unneededReferences?.Contains(position) == true;
                var hollow = unneeded && TryHollow();
                SetDeblocking(!unneeded);
                SetConcealment(!hollow);
            }

            // A damaged packet is skipped, as the ffmpeg CLI does; a missing frame is reported by the caller.
            AvCodecNative.SendPacket(_codec, p);
            AvCodecNative.PacketUnref(_packet);
            if (_skipNonReference && position >= 0 && position == _lastWantedPosition)
            {
                // Every wanted frame's packet is in: draining shows the frames the decoder holds back for reordering
                // without decoding the packets after them (the reorder delay would otherwise cost a few frames per run).
                AvCodecNative.SendPacket(_codec, IntPtr.Zero);
                _draining = true;
                _drainedAfterWanted = true;
            }

            return true;
        }
    }

    /// <summary>
    /// Strips the slice data from the packet in <see cref="_packet"/> (a reference picture no wanted frame depends on):
    /// the decoder then runs its headers (reference buffer, memory-management operations) and decodes no macroblocks.
    /// </summary>
    /// <returns>Whether the packet was rewritten; when not, it is decoded whole.</returns>
    private bool TryHollow()
    {
        if (HollowingParser() is not { } parser || AvCodecNative.PacketMakeWritable(_packet) < 0)
        {
            return false;
        }

        var p = _packet.DangerousGetHandle();
        var data = Field.Read<IntPtr>(p, FfmpegAbi.AVPacket_data);
        var size = Field.Read<int>(p, FfmpegAbi.AVPacket_size);
        if (data == IntPtr.Zero || size <= 0)
        {
            return false;
        }

        var length = parser.HollowPacket(new Span<byte>((void*)data, size));
        if (length < 0)
        {
            return false;
        }

        HollowedPictures++;
        AvCodecNative.ShrinkPacket(_packet, length);
        return true;
    }

    /// <summary>The parser that hollows packets, made from the stream's avcC record when first needed; null when hollowing is off or the stream is not AVCC H.264.</summary>
    private H264HeaderParser? HollowingParser()
    {
        if (_positions?.References is not { FixedParameterSets: true })
        {
            return null;
        }

        if (_hollowParser is null && !_hollowUnavailable && _options.HollowUnneededReferences)
        {
            _hollowParser = CreateH264Parser();
            _hollowUnavailable = _hollowParser is null;
        }

        return _hollowParser;
    }

    private void SetDeblocking(bool on)
    {
        if (on == _deblockingOff)
        {
            AvUtilNative.OptSetInt(_codec, "skip_loop_filter", on ? Ff.DiscardDefault : Ff.DiscardAll, 0);
            _deblockingOff = !on;
        }
    }

    /// <summary>
    /// Error concealment (<c>ec</c>) is off while a hollowed picture decodes: its missing macroblocks would otherwise be
    /// guessed from the neighbouring pictures, work whose result nothing reads; on for every other packet, at the
    /// decoder's own setting.
    /// </summary>
    private void SetConcealment(bool on)
    {
        if (on != _concealmentOff)
        {
            return;
        }

        if (_defaultConcealment < 0)
        {
            _defaultConcealment = AvUtilNative.OptGetInt(_codec, "ec", 0, out var value) >= 0 ? value : 3;
        }

        AvUtilNative.OptSetInt(_codec, "ec", on ? _defaultConcealment : 0, 0);
        _concealmentOff = !on;
    }

    /// <summary>Gives the session the index it maps packet timestamps to positions with.</summary>
    /// <param name="index">The index of this input.</param>
    public void UseIndex(FrameIndex index) => _positions = index;

    private ImageFrame Convert(int width, int height)
    {
        var f = _frame.DangerousGetHandle();
        var srcW = Field.Read<int>(f, FfmpegAbi.AVFrame_width);
        var srcH = Field.Read<int>(f, FfmpegAbi.AVFrame_height);
        var format = Field.Read<int>(f, FfmpegAbi.AVFrame_format);
        var dstW = width > 0 ? width : srcW;
        var dstH = height > 0 ? height : srcH;

        // Exactly PyAV 10's VideoFrame.reformat(width, height, "rgb24"): sws_getCachedContext with SWS_BILINEAR and no
        // other flags, no colorspace details (source and destination colorspace are the frame's own), one sws_scale call.
        var scaler = _scaler.Update(srcW, srcH, format, dstW, dstH, Ff.PixelFormatRgb24, Ff.SwsBilinear);
        if (scaler == IntPtr.Zero)
        {
            var name = Marshal.PtrToStringUTF8((IntPtr)AvUtilNative.GetPixFmtName(format)) ?? format.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new InvalidMediaException($"The video {_description} has frames in pixel format '{name}' ({srcW}x{srcH}), which swscale cannot convert to RGB24 at {dstW}x{dstH}.", _mediaType);
        }

        var stride = dstW * 3;
        var pixels = GC.AllocateUninitializedArray<byte>(checked(stride * dstH));
        fixed (byte* destination = pixels)
        {
            var dst = stackalloc byte*[4] { destination, null, null, null };
            var dstStride = stackalloc int[4] { stride, 0, 0, 0 };
            SwScaleNative.Scale(scaler, (byte**)((byte*)f + FfmpegAbi.AVFrame_data), (int*)((byte*)f + FfmpegAbi.AVFrame_linesize), 0, srcH, dst, dstStride);
        }

        return new ImageFrame(dstW, dstH, ImagePixelFormat.Rgb24, pixels);
    }
}
