// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

namespace Multimodal.Media.Video;

/// <summary>Options of an <see cref="FfmpegVideoFrameSource"/>: the <see cref="VideoOpenOptions"/> and <see cref="VideoDecodeOptions"/> each request uses.</summary>
public sealed class FfmpegVideoFrameSourceOptions
{
    private VideoOpenOptions _open = new();
    private VideoDecodeOptions _decode = new();

    /// <summary>Gets or sets how many independent demuxer/decoder instances decode one video at once.</summary>
    /// <value>The default is 1. Stream sources always use 1; file and memory sources open the input once per instance.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int MaxDegreeOfParallelism { get => _decode.MaxDegreeOfParallelism; set => _decode.MaxDegreeOfParallelism = value; }

    /// <summary>Gets or sets the number of threads each decoder uses (FFmpeg's <c>threads</c> option).</summary>
    /// <value>The default is 0: FFmpeg picks one per core.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int DecoderThreads { get => _open.DecoderThreads; set => _open.DecoderThreads = value; }

    /// <summary>Gets or sets the output width; frames are resized by swscale while converting (bilinear, as PyAV's <c>frame.reformat</c>).</summary>
    /// <value>The default is <see langword="null"/>: the frame's own width.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Width { get => _decode.Width; set => _decode.Width = value; }

    /// <summary>Gets or sets the output height.</summary>
    /// <value>The default is <see langword="null"/>: the frame's own height.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Height { get => _decode.Height; set => _decode.Height = value; }

    /// <summary>Gets or sets whether frames that no wanted frame depends on are skipped (see <see cref="VideoOpenOptions.SkipNonReferenceFrames"/>).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool SkipNonReferenceFrames { get => _open.SkipNonReferenceFrames; set => _open.SkipNonReferenceFrames = value; }

    /// <summary>Copies these options.</summary>
    /// <returns>A copy.</returns>
    public FfmpegVideoFrameSourceOptions Clone() => new() { _open = _open.Clone(), _decode = _decode.Clone() };

    /// <summary>Returns the options a request opens its video with.</summary>
    /// <param name="mediaType">The media type reported in <see cref="InvalidMediaException"/>s.</param>
    /// <returns>A new instance.</returns>
    internal VideoOpenOptions ToOpenOptions(string? mediaType)
    {
        var options = _open.Clone();
        options.MediaType = mediaType;
        return options;
    }

    /// <summary>Returns the options a request decodes its frames with.</summary>
    /// <returns>A new instance.</returns>
    internal VideoDecodeOptions ToDecodeOptions() => _decode.Clone();
}

/// <summary>An <see cref="IVideoFrameSource"/> over FFmpeg 5.1: frame-exact sampling by seeking to keyframes and decoding forward, frames identical to PyAV 10's.</summary>
/// <remarks>
/// <para>
/// For each request the video is opened (<see cref="VideoFile"/>), its frames counted by a packet scan, the sampling
/// policy applied to that count and the frame rate, and the selected frames decoded and converted to RGB24 as PyAV's
/// <c>frame.to_ndarray(format="rgb24")</c> does. Frames stream out one at a time.
/// </para>
/// <para>
/// Thread-safe: every request opens its own decoders. File sources are opened by path, memory sources through a stream
/// per decoder, stream sources through the stream itself (copied to memory first when it cannot seek).
/// </para>
/// </remarks>
public sealed class FfmpegVideoFrameSource : IVideoFrameSource
{
    private readonly FfmpegVideoFrameSourceOptions _options;

    /// <summary>Initializes a frame source.</summary>
    /// <param name="options">The options (copied); <see langword="null"/> for the defaults.</param>
    public FfmpegVideoFrameSource(FfmpegVideoFrameSourceOptions? options = null)
    {
        _options = options?.Clone() ?? new FfmpegVideoFrameSourceOptions();
    }

    /// <summary>Gets a frame source with the default options.</summary>
    public static FfmpegVideoFrameSource Shared { get; } = new();

    /// <summary>Gets a copy of the options this source uses.</summary>
    public FfmpegVideoFrameSourceOptions Options => _options.Clone();

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="video"/> or <paramref name="sampling"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index-based policy names a frame the video does not have.</exception>
    /// <exception cref="NativeLibraryException">FFmpeg 5.1 cannot be loaded.</exception>
    public IAsyncEnumerable<VideoFrame> ReadFramesAsync(VideoContent video, FrameSampling sampling, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(sampling);
        return ReadCoreAsync(video.Source, sampling, cancellationToken);
    }

    private async IAsyncEnumerable<VideoFrame> ReadCoreAsync(MediaSource source, FrameSampling sampling, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var openOptions = _options.ToOpenOptions(source.MediaType);
        var decodeOptions = _options.ToDecodeOptions();

        Stream? owned = null;
        try
        {
            using var file = await OpenAsync(source, openOptions, s => owned = s, cancellationToken).ConfigureAwait(false);
            var count = await file.CountFramesAsync(cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                throw new InvalidMediaException($"The video {source} has no decodable frames.", source.MediaType);
            }

            var indices = sampling.SelectFrames(count, file.Info.FramesPerSecond > 0 ? file.Info.FramesPerSecond : 30);
            await foreach (var frame in file.ReadFramesAsync(indices, decodeOptions, cancellationToken).ConfigureAwait(false))
            {
                yield return frame;
            }
        }
        finally
        {
            if (owned is not null)
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<VideoFile> OpenAsync(MediaSource source, VideoOpenOptions options, Action<Stream> own, CancellationToken cancellationToken)
    {
        switch (source.Kind)
        {
            case MediaSourceKind.File:
                return await Task.Run(() => VideoFile.Open(source.Path!, options), cancellationToken).ConfigureAwait(false);
            case MediaSourceKind.Memory:
                return await Task.Run(() => VideoFile.Open(source.OpenRead, options), cancellationToken).ConfigureAwait(false);
            default:
                var stream = source.OpenRead();
                own(stream);
                if (!stream.CanSeek)
                {
                    // Containers are read out of order (MP4's index may sit at the end): buffer a forward-only stream.
                    var bytes = await source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
                    return await Task.Run(() => VideoFile.Open(MediaSource.FromBytes(bytes).OpenRead, options), cancellationToken).ConfigureAwait(false);
                }

                return await Task.Run(() => VideoFile.Open(stream, options), cancellationToken).ConfigureAwait(false);
        }
    }
}
