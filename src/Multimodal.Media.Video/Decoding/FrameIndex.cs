// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Media.Video.Interop.Ffmpeg;

namespace Multimodal.Media.Video.Decoding;

/// <summary>One video packet as the scan saw it, in decode order.</summary>
/// <param name="Pts">The presentation timestamp, or <see cref="Ff.NoPts"/>.</param>
/// <param name="Dts">The decode timestamp, or <see cref="Ff.NoPts"/>.</param>
/// <param name="Flags">AV_PKT_FLAG_* bits.</param>
internal readonly record struct ScannedPacket(long Pts, long Dts, int Flags)
{
    /// <summary>Gets whether the packet starts a keyframe.</summary>
    public bool IsKey => (Flags & Ff.PacketFlagKey) != 0;

    /// <summary>Gets whether the demuxer marks its frame for dropping (edit lists), so that it is not a frame of the video.</summary>
    public bool IsDiscarded => (Flags & Ff.PacketFlagDiscard) != 0;
}

/// <summary>The result of one packet scan: frame index → presentation timestamp, and where each frame's decoding has to start.</summary>
/// <remarks>
/// Frame i is the i-th frame in presentation order, which is the i-th frame a decoder returns when it decodes the whole
/// stream (what PyAV's <c>enumerate(container.decode(video=0))</c> counts). Packets flagged AV_PKT_FLAG_DISCARD are decoded
/// (later frames may reference them) but are not frames of the video. Immutable and shared by the parallel decoders.
/// </remarks>
internal sealed class FrameIndex
{
    private readonly Dictionary<long, int> _positionByPts;
    private readonly int[] _keyPositions;
    private readonly long[] _keyPts;
    private readonly long[] _keySeekTimestamps;

    private FrameIndex(long[] ptsByIndex, Dictionary<long, int> positionByPts, int[] keyPositions, long[] keyPts, long[] keySeekTimestamps, bool hasTimestamps, int packetCount)
    {
        PtsByIndex = ptsByIndex;
        _positionByPts = positionByPts;
        _keyPositions = keyPositions;
        _keyPts = keyPts;
        _keySeekTimestamps = keySeekTimestamps;
        HasTimestamps = hasTimestamps;
        PacketCount = packetCount;
    }

    /// <summary>Gets the presentation timestamp of each frame, ascending (empty when <see cref="HasTimestamps"/> is false).</summary>
    public long[] PtsByIndex { get; }

    /// <summary>Gets the number of frames: packets that are not discarded.</summary>
    public int Count { get; private init; }

    /// <summary>Gets the number of video packets, discarded ones included.</summary>
    public int PacketCount { get; }

    /// <summary>Gets whether every packet has a distinct timestamp, so that frames can be found by seeking; otherwise frames are counted by decoding from the start.</summary>
    public bool HasTimestamps { get; }

    /// <summary>Gets what each H.264 picture references, when the stream's headers allow working it out; otherwise null.</summary>
    public H264References? References { get; init; }

    /// <summary>Gets the number of keyframes.</summary>
    public int KeyframeCount => _keyPositions.Length;

    /// <summary>Builds the index from the packets of one scan.</summary>
    /// <param name="packets">The video packets in decode (file) order.</param>
    /// <param name="references">What each packet's picture references, where known.</param>
    /// <returns>The index.</returns>
    public static FrameIndex Build(IReadOnlyList<ScannedPacket> packets, H264References? references = null)
    {
        var positionByPts = new Dictionary<long, int>(packets.Count);
        var kept = new List<long>(packets.Count);
        var keyPositions = new List<int>();
        var keyPts = new List<long>();
        var keySeek = new List<long>();
        var hasTimestamps = true;
        var count = 0;
        for (var position = 0; position < packets.Count; position++)
        {
            var p = packets[position];
            if (!p.IsDiscarded)
            {
                count++;
            }

            if (p.Pts == Ff.NoPts || !positionByPts.TryAdd(p.Pts, position))
            {
                hasTimestamps = false;
                continue;
            }

            if (!p.IsDiscarded)
            {
                kept.Add(p.Pts);
            }

            if (p.IsKey)
            {
                keyPositions.Add(position);
                keyPts.Add(p.Pts);

                // Seek to the keyframe's PTS, as PyAV's seek-then-decode does. MP4 indexes keyframes by DTS (<= PTS, and
                // above the previous keyframe's PTS), Matroska by PTS: a backward seek lands on this keyframe either way,
                // where the DTS could land one whole GOP earlier when the demuxer's index is shifted by an edit list.
                keySeek.Add(p.Pts);
            }
        }

        if (keyPositions.Count == 0 && packets.Count > 0 && hasTimestamps)
        {
            // No packet is flagged as a keyframe (some raw or intra-only streams): decode from the first packet.
            keyPositions.Add(0);
            keyPts.Add(packets[0].Pts);
            keySeek.Add(packets[0].Pts);
        }

        var ptsByIndex = hasTimestamps ? kept.ToArray() : [];
        Array.Sort(ptsByIndex);
        return new FrameIndex(ptsByIndex, positionByPts, [.. keyPositions], [.. keyPts], [.. keySeek], hasTimestamps, packets.Count) { Count = count, References = references };
    }

    /// <summary>Gets the decode-order position of the packet with the given timestamp.</summary>
    /// <param name="pts">A packet's presentation timestamp.</param>
    /// <param name="position">Its position.</param>
    /// <returns>Whether the timestamp belongs to a scanned packet.</returns>
    public bool TryGetPosition(long pts, out int position) => _positionByPts.TryGetValue(pts, out position);

    /// <summary>Finds the keyframe decoding must start from to produce frame <paramref name="index"/>.</summary>
    /// <param name="index">A frame index below <see cref="Count"/>.</param>
    /// <returns>The keyframe's ordinal (0 to <see cref="KeyframeCount"/> − 1).</returns>
    public int KeyframeFor(int index)
    {
        var pts = PtsByIndex[index];
        var position = _positionByPts[pts];
        var k = Array.BinarySearch(_keyPositions, position);
        if (k < 0)
        {
            k = Math.Max(0, ~k - 1);
        }

        // A frame shown before its keyframe (an open GOP's leading B-frames) references the previous GOP.
        while (k > 0 && _keyPts[k] > pts)
        {
            k--;
        }

        return k;
    }

    /// <summary>Gets the decode-order position of a keyframe's packet.</summary>
    /// <param name="keyframe">The keyframe's ordinal.</param>
    /// <returns>The position.</returns>
    public int KeyPosition(int keyframe) => _keyPositions[keyframe];

    /// <summary>Gets the timestamp to pass to <c>av_seek_frame</c> with AVSEEK_FLAG_BACKWARD to land on a keyframe.</summary>
    /// <param name="keyframe">The keyframe's ordinal.</param>
    /// <returns>The timestamp, in the stream's time base.</returns>
    public long KeySeekTimestamp(int keyframe) => _keySeekTimestamps[keyframe];
}
