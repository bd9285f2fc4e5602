// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video;

/// <summary>How a <see cref="VideoFile"/> opens its input and sets up its decoders.</summary>
public sealed class VideoOpenOptions
{
    private int _decoderThreads;

    /// <summary>Gets or sets the number of threads each decoder uses (FFmpeg's <c>threads</c> option).</summary>
    /// <value>The default is 0: FFmpeg picks one per core.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int DecoderThreads
    {
        get => _decoderThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _decoderThreads = value;
        }
    }

    /// <summary>Gets or sets whether frames that no wanted frame depends on are skipped while decoding towards a wanted frame (<c>skip_frame=nonref</c>).</summary>
    /// <value>
    /// The default is <see langword="true"/>. The returned pixels are the same either way (tested against PyAV). Skipping
    /// needs frame threading off, so each decoder then uses slice threads only; on sparse samples the skipped frames save
    /// more than that costs (32 of 18,000 720p frames: 4.9 s instead of 8.5 s on 2 cores), and running two decoders
    /// (<see cref="VideoDecodeOptions.MaxDegreeOfParallelism"/>) uses the cores instead. For H.264 in MP4 or Matroska
    /// the scan also reads the slice headers, and reference pictures that no wanted frame depends on (B-pyramid
    /// references of other mini-GOPs) are decoded from their slice headers alone (<see cref="HollowUnneededReferences"/>).
    /// </value>
    public bool SkipNonReferenceFrames { get; set; } = true;

    /// <summary>
    /// Gets or sets whether reference pictures that no wanted frame depends on are decoded from their slice headers
    /// alone (with <see cref="SkipNonReferenceFrames"/>, H.264 in MP4 or Matroska).
    /// </summary>
    /// <value>
    /// The default is <see langword="true"/>: each such packet is rewritten so that its slices end after their headers,
    /// and the decoder runs the reference marking those headers carry (which later pictures need) without decoding
    /// macroblocks, with error concealment off for that picture. The returned pixels are the same either way (tested
    /// against PyAV). <see langword="false"/> decodes those pictures whole, without the deblocking filter.
    /// </value>
    public bool HollowUnneededReferences { get; set; } = true;

    /// <summary>Gets or sets the media type reported in <see cref="InvalidMediaException"/>s.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? MediaType { get; set; }

    /// <summary>Copies these options.</summary>
    /// <returns>A copy.</returns>
    public VideoOpenOptions Clone() => (VideoOpenOptions)MemberwiseClone();
}

/// <summary>How <see cref="VideoFile.ReadFramesAsync"/> decodes and converts frames.</summary>
public sealed class VideoDecodeOptions
{
    private int? _width;
    private int? _height;
    private int _maxDegreeOfParallelism = 1;

    /// <summary>Gets or sets the output width; swscale resizes while converting (bilinear, as PyAV's <c>frame.reformat(width, height, "rgb24")</c>).</summary>
    /// <value>The default is <see langword="null"/>: the frame's own width (as in PyAV, setting only one side does not keep the aspect ratio).</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Width { get => _width; set => _width = PositiveOrNull(value); }

    /// <summary>Gets or sets the output height.</summary>
    /// <value>The default is <see langword="null"/>: the frame's own height.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Height { get => _height; set => _height = PositiveOrNull(value); }

    /// <summary>Gets or sets how many independent demuxer/decoder instances decode at once, each on its own share of the frames.</summary>
    /// <value>The default is 1. Stream inputs and streams without timestamps always use 1.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>Copies these options.</summary>
    /// <returns>A copy.</returns>
    public VideoDecodeOptions Clone() => (VideoDecodeOptions)MemberwiseClone();

    private static int? PositiveOrNull(int? value)
    {
        if (value is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size, nameof(value));
        }

        return value;
    }
}
