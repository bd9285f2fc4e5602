// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Multimodal.Media.Video.Decoding;

namespace Multimodal.Media.Video;

/// <summary>An opened video: its facts, and frame-exact decoding of chosen frames through FFmpeg 5.1.</summary>
/// <remarks>
/// <para>
/// Frame <c>i</c> is the i-th frame in presentation order: the frame PyAV 10 yields at position <c>i</c> of
/// <c>enumerate(container.decode(video=0))</c>. The first read scans the stream's packets once (no decoding) to map
/// indices to timestamps and keyframes; each wanted frame is then found by seeking to the keyframe before it and
/// decoding forward to its timestamp, or by decoding on when it lies ahead in the same group of pictures. Sparse
/// samples therefore never decode the whole file.
/// </para>
/// <para>
/// Frames are converted to RGB24 exactly as PyAV 10's <c>frame.to_ndarray(format="rgb24")</c> /
/// <c>frame.reformat(width, height, "rgb24")</c> convert them: swscale with <c>SWS_BILINEAR</c>, no other flags, and
/// the frame's own colorspace and range (BT.601 limited range for ordinary YUV video). Frames are not rotated.
/// </para>
/// <para>
/// One enumeration at a time per instance; <see cref="Info"/> is safe from any thread. The instance owns its native
/// objects; a stream given to <see cref="Open(Stream, VideoOpenOptions?)"/> stays the caller's and must stay open until
/// the instance is disposed.
/// </para>
/// <code>
/// using var video = VideoFile.Open("clip.mp4");
/// var indices = FrameSampling.Uniform(32).SelectFrames(video.Info.FrameCount, video.Info.FramesPerSecond);
/// await foreach (var frame in video.ReadFramesAsync(indices))
/// {
///     Console.WriteLine($"{frame.Index} at {frame.Timestamp}: {frame.Image}");
/// }
/// </code>
/// </remarks>
public sealed class VideoFile : IDisposable
{
    // Frames each worker may have decoded ahead of the consumer, per chunk: bounds memory at a few frames per worker.
    private const int FramesBufferedPerChunk = 2;

    private readonly VideoDecoderSession _session;
    private readonly string? _path;
    private readonly Func<Stream>? _streamFactory;
    private readonly VideoOpenOptions _options;
    private readonly Lock _lock = new();
    private FrameIndex? _index;
    private int _reading;
    private bool _disposed;

    private VideoFile(VideoDecoderSession session, string? path, Func<Stream>? streamFactory, VideoOpenOptions options)
    {
        _session = session;
        _path = path;
        _streamFactory = streamFactory;
        _options = options;
        try
        {
            var info = session.ReadInfo();
            if (!info.FrameCountIsExact)
            {
                // The container keeps no frame count: count the packets now, so that Info is complete; reads reuse the scan.
                _index = session.Scan(CancellationToken.None);
                info = info with { FrameCount = _index.Count };
            }

            if (info.FrameCount == 0)
            {
                throw new InvalidMediaException($"The video {session.Description} has no frames.", options.MediaType);
            }

            Info = info;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Gets the facts about the video stream.</summary>
    public VideoInfo Info { get; }

    /// <summary>Opens a video file.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="options">How to open it; <see langword="null"/> for the defaults.</param>
    /// <returns>The opened video.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidMediaException">The file does not exist, is not a video, has no video stream or no frames, or its codec is unsupported.</exception>
    /// <exception cref="NativeLibraryException">FFmpeg 5.1 cannot be loaded.</exception>
    public static VideoFile Open(string path, VideoOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options = options?.Clone() ?? new VideoOpenOptions();
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new InvalidMediaException($"The video file '{fullPath}' does not exist.", options.MediaType ?? MediaTypes.FromExtension(path));
        }

        options.MediaType ??= MediaTypes.FromExtension(path);
        return new VideoFile(VideoDecoderSession.OpenFile(fullPath, options), fullPath, null, options);
    }

    /// <summary>Opens a video from a readable, seekable stream, read through a custom FFmpeg I/O context.</summary>
    /// <param name="stream">The stream, positioned at the start of the video; it stays the caller's, and must stay open until the video is disposed.</param>
    /// <param name="options">How to open it; <see langword="null"/> for the defaults.</param>
    /// <returns>The opened video. Its reads use one decoder (no parallelism), since a stream can be read by one reader only.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException">The stream cannot read or cannot seek.</exception>
    /// <exception cref="InvalidMediaException">The data is not a video, has no video stream or no frames, or its codec is unsupported.</exception>
    /// <exception cref="NativeLibraryException">FFmpeg 5.1 cannot be loaded.</exception>
    public static VideoFile Open(Stream stream, VideoOpenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The stream must be readable and seekable (video containers are read out of order); copy it into a MemoryStream first.", nameof(stream));
        }

        options = options?.Clone() ?? new VideoOpenOptions();
        return new VideoFile(VideoDecoderSession.OpenStream(stream, ownsStream: false, options), null, null, options);
    }

    /// <summary>Opens a video from a source that can be opened again for each parallel decoder (memory).</summary>
    /// <param name="streamFactory">Opens a new, independent stream over the same bytes.</param>
    /// <param name="options">How to open it.</param>
    /// <returns>The opened video.</returns>
    internal static VideoFile Open(Func<Stream> streamFactory, VideoOpenOptions options)
    {
        var stream = streamFactory();
        VideoDecoderSession session;
        try
        {
            session = VideoDecoderSession.OpenStream(stream, ownsStream: true, options);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return new VideoFile(session, null, streamFactory, options);
    }

    /// <summary>Counts the frames that can be read: the video packets a scan of the stream finds, less those the container marks as dropped.</summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The count. It equals <see cref="VideoInfo.FrameCount"/> unless the file is truncated or uses edit lists.</returns>
    /// <exception cref="InvalidMediaException">The stream cannot be read.</exception>
    /// <exception cref="ObjectDisposedException">The video is disposed.</exception>
    public async Task<int> CountFramesAsync(CancellationToken cancellationToken = default)
    {
        EnterRead();
        try
        {
            return (await GetIndexAsync(cancellationToken).ConfigureAwait(false)).Count;
        }
        finally
        {
            ExitRead();
        }
    }

    /// <summary>Decodes the frames at the given indices and yields them in ascending index order, one at a time.</summary>
    /// <param name="indices">Frame indices in presentation order, from 0; duplicates are decoded once.</param>
    /// <param name="options">Output size and parallelism; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The frames as RGB24 (see the remarks on <see cref="VideoFile"/> for the conversion).</returns>
    /// <remarks>
    /// At most a few frames per decoder are held ahead of the consumer, so any number of frames streams through in bounded
    /// memory. With <see cref="VideoDecodeOptions.MaxDegreeOfParallelism"/> above 1, a file or memory input is decoded by
    /// that many independent demuxer/decoder instances, each working on whole groups of pictures; the order of the results
    /// does not change.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="indices"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is negative or not below <see cref="VideoInfo.FrameCount"/>.</exception>
    /// <exception cref="InvalidMediaException">A frame cannot be decoded, or the file holds fewer frames than its header says (truncated).</exception>
    /// <exception cref="InvalidOperationException">Another enumeration of this instance is running.</exception>
    /// <exception cref="ObjectDisposedException">The video is disposed.</exception>
    public IAsyncEnumerable<VideoFrame> ReadFramesAsync(IReadOnlyList<int> indices, VideoDecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var targets = new SortedSet<int>();
        foreach (var i in indices)
        {
            if (i < 0 || i >= Info.FrameCount)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Frame index {i} is out of range: the video has {Info.FrameCount} frames (indices 0 to {Info.FrameCount - 1}).");
            }

            targets.Add(i);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        return ReadCoreAsync([.. targets], options?.Clone() ?? new VideoDecodeOptions(), cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_reading != 0)
            {
                throw new InvalidOperationException("The video cannot be disposed while an enumeration of its frames is running; finish or cancel it first.");
            }

            _disposed = true;
        }

        _session.Dispose();
    }

    private async IAsyncEnumerable<VideoFrame> ReadCoreAsync(int[] targets, VideoDecodeOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnterRead();
        try
        {
            if (targets.Length == 0)
            {
                yield break;
            }

            var index = await GetIndexAsync(cancellationToken).ConfigureAwait(false);
            if (targets[^1] >= index.Count)
            {
                throw new InvalidMediaException(
                    $"Frame {targets[^1]} cannot be read: the header of the video {_session.Description} promises {Info.FrameCount} frames, but its data holds {index.Count}; the file is truncated or damaged.",
                    _options.MediaType);
            }

            var width = options.Width ?? 0;
            var height = options.Height ?? 0;
            if (!index.HasTimestamps)
            {
                // No usable timestamps: frames are only identifiable by counting them from the start.
                var frames = await Task.Run(() => _session.DecodeSequential(targets, width, height, cancellationToken).GetEnumerator(), cancellationToken).ConfigureAwait(false);
                using (frames)
                {
                    while (await Task.Run(frames.MoveNext, cancellationToken).ConfigureAwait(false))
                    {
                        yield return frames.Current;
                    }
                }

                yield break;
            }

            await foreach (var frame in DecodeChunksAsync(index, targets, width, height, options.MaxDegreeOfParallelism, cancellationToken).ConfigureAwait(false))
            {
                yield return frame;
            }
        }
        finally
        {
            ExitRead();
        }
    }

    private async IAsyncEnumerable<VideoFrame> DecodeChunksAsync(FrameIndex index, int[] targets, int width, int height, int parallelism, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Chunks are the targets of one group of pictures each, so that no two decoders decode the same packets.
        var chunks = new List<int[]>();
        var start = 0;
        for (var i = 1; i <= targets.Length; i++)
        {
            if (i == targets.Length || index.KeyframeFor(targets[i]) != index.KeyframeFor(targets[start]))
            {
                chunks.Add(targets[start..i]);
                start = i;
            }
        }

        if (_path is null && _streamFactory is null)
        {
            parallelism = 1;
        }

        parallelism = Math.Min(parallelism, chunks.Count);
        var channels = chunks.Select(_ => Channel.CreateBounded<VideoFrame>(new BoundedChannelOptions(FramesBufferedPerChunk) { SingleReader = true, SingleWriter = true })).ToArray();

        // A chunk is admitted when a worker takes it and retired when the consumer has read it: at most parallelism + 1
        // chunks are in flight, so decoded-but-unread frames stay below (parallelism + 1) × FramesBufferedPerChunk.
        using var admission = new SemaphoreSlim(parallelism + 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = -1;
        var secondary = new VideoDecoderSession?[parallelism];
        var workers = new Task[parallelism];
        for (var w = 0; w < parallelism; w++)
        {
            var worker = w;
            workers[w] = Task.Run(() => WorkAsync(worker), CancellationToken.None);
        }

        try
        {
            for (var c = 0; c < chunks.Count; c++)
            {
                var reader = channels[c].Reader;
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (ChannelClosedException ex) when (ex.InnerException is not null)
                    {
                        throw ex.InnerException;
                    }

                    if (!more)
                    {
                        break;
                    }

                    while (reader.TryRead(out var frame))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return frame;
                    }
                }

                admission.Release();
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(workers).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            foreach (var session in secondary)
            {
                session?.Dispose();
            }
        }

        async Task WorkAsync(int worker)
        {
            var token = stop.Token;
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await admission.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var c = Interlocked.Increment(ref next);
                if (c >= chunks.Count)
                {
                    return;
                }

                var writer = channels[c].Writer;
                try
                {
                    var session = worker == 0 ? _session : secondary[worker] ??= OpenSecondary(index);
                    session.SetWanted(index, chunks[c]);
                    foreach (var i in chunks[c])
                    {
                        var frame = session.DecodeFrame(index, i, width, height, token);
                        await writer.WriteAsync(frame, token).ConfigureAwait(false);
                    }

                    writer.TryComplete();
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    writer.TryComplete();
                    return;
                }
                catch (Exception ex)
                {
                    writer.TryComplete(ex);
                }
            }
        }
    }

    private VideoDecoderSession OpenSecondary(FrameIndex index)
    {
        var session = _path is not null
            ? VideoDecoderSession.OpenFile(_path, _options)
            : OpenFromFactory();
        session.UseIndex(index);
        return session;

        VideoDecoderSession OpenFromFactory()
        {
            var stream = _streamFactory!();
            try
            {
                return VideoDecoderSession.OpenStream(stream, ownsStream: true, _options);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }
    }

    private async ValueTask<FrameIndex> GetIndexAsync(CancellationToken cancellationToken)
    {
        if (_index is { } index)
        {
            return index;
        }

        // The scan reads the whole stream (without decoding): keep it off the caller's thread.
        index = await Task.Run(() => _session.Scan(cancellationToken), cancellationToken).ConfigureAwait(false);
        _index = index;
        return index;
    }

    private void EnterRead()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_reading != 0)
            {
                throw new InvalidOperationException("Another enumeration of this video's frames is running; a VideoFile reads one request at a time.");
            }

            _reading = 1;
        }
    }

    private void ExitRead()
    {
        lock (_lock)
        {
            _reading = 0;
        }
    }
}
