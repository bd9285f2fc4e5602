// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Media.Video.Decoding;
using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

/// <summary>
/// The H.264 reference analysis: which reference pictures no wanted frame depends on (decoded without the deblocking
/// filter), checked on the B-pyramid clip, whose B reference pictures carry memory-management operations.
/// </summary>
public sealed class H264ReferenceTests
{
    [Fact]
    public void Scan_WorksOutTheReferences_OfTheBPyramidClip()
    {
        // Arrange
        using var session = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions());

        // Act
        var index = session.Scan(CancellationToken.None);

        // Assert: every picture's references lie before it in decode order, within its group of pictures (closed GOPs).
        var references = Assert.IsType<H264References>(index.References);
        var keyPositions = Enumerable.Range(0, index.KeyframeCount).Select(index.KeyPosition).ToArray();
        for (var position = 0; position < index.PacketCount; position++)
        {
            var needed = new HashSet<int>();
            references.Close([position], needed);
            var key = keyPositions.Last(k => k <= position);
            Assert.All(needed, p => Assert.InRange(p, key, position));
            Assert.Contains(key, needed);
        }
    }

    [Fact]
    public void SparseFrames_LeaveReferencePicturesNoWantedFrameNeeds()
    {
        // Arrange: every 37th frame of the first group of pictures.
        using var session = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions());
        var index = session.Scan(CancellationToken.None);
        var references = index.References!;
        var wanted = Enumerable.Range(0, 7).Select(i => i * 37).Select(i => index.TryGetPosition(index.PtsByIndex[i], out var p) ? p : -1).ToArray();

        // Act
        var needed = new HashSet<int>();
        references.Close(wanted, needed);
        var last = wanted.Max();
        var unneeded = Enumerable.Range(0, last).Count(p => references.IsReference(p) && !needed.Contains(p));

        // Assert: B reference pictures of the mini-GOPs without a wanted frame are not needed; P pictures are.
        Assert.True(unneeded > 20, $"only {unneeded} reference pictures before position {last} are unneeded");
        Assert.True(needed.Count < last / 2, $"{needed.Count} of {last} pictures needed");
    }

    [Theory(Timeout = 120_000)]
    [InlineData(37, 1)]
    [InlineData(23, 2)]
    [InlineData(101, 1)]
    public async Task SparseFrames_WithUndeblockedReferences_AreExactlyPyAvs(int step, int parallelism)
    {
        // Arrange
        var hashes = Strings(Clip.GetProperty("hashes"));
        var indices = Enumerable.Range(0, hashes.Length).Where(i => i % step == step - 1).ToArray();
        using var video = VideoFile.Open(ClipPath);

        // Act
        var frames = await ToListAsync(video.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = parallelism }));

        // Assert
        Assert.Equal(indices, frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.True(hashes[f.Index] == Hash(f.Image), $"frame {f.Index} differs from PyAV's"));
    }

    [Theory(Timeout = 120_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SparseFrames_WithHollowedReferences_AreExactlyPyAvs(bool hollow)
    {
        // Arrange: every 37th frame of the clip, decoded by one session in order (as one chunk of VideoFile's).
        var hashes = Strings(Clip.GetProperty("hashes"));
        var indices = Enumerable.Range(0, hashes.Length).Where(i => i % 37 == 36).ToArray();
        using var session = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions { HollowUnneededReferences = hollow });
        var index = session.Scan(CancellationToken.None);
        session.UseIndex(index);
        session.SetWanted(index, indices);

        // Act
        var frames = await Task.Run(() => indices.Select(i => session.DecodeFrame(index, i, 0, 0, CancellationToken.None)).ToList());

        // Assert: the B references of mini-GOPs without a wanted frame lost their slice data (or, with the option
        // off, none did), and every frame is PyAV's.
        if (hollow)
        {
            Assert.True(session.HollowedPictures > 20, $"only {session.HollowedPictures} pictures were hollowed");
        }
        else
        {
            Assert.Equal(0, session.HollowedPictures);
        }

        Assert.All(frames, f => Assert.True(hashes[f.Index] == Hash(f.Image), $"frame {f.Index} differs from PyAV's"));
    }

    [Fact(Timeout = 120_000)]
    public async Task HollowedReferences_InCavlcPicturesOfThreeSlices_LeaveTheFramesAsAFullDecodeHasThem()
    {
        // Arrange: every 13th frame of a 300-frame clip with three CAVLC slices per picture and a B-pyramid.
        var path = PathOf("slices_cavlc.mp4");
        var indices = Enumerable.Range(0, 300).Where(i => i % 13 == 12).ToArray();
        using var full = VideoFile.Open(path, new VideoOpenOptions { SkipNonReferenceFrames = false });
        var expected = await ToListAsync(full.ReadFramesAsync(indices));
        using var session = VideoDecoderSession.OpenFile(path, new VideoOpenOptions());
        var index = session.Scan(CancellationToken.None);
        session.UseIndex(index);
        session.SetWanted(index, indices);

        // Act
        var frames = await Task.Run(() => indices.Select(i => session.DecodeFrame(index, i, 0, 0, CancellationToken.None)).ToList());

        // Assert
        Assert.True(session.HollowedPictures > 10, $"only {session.HollowedPictures} pictures were hollowed");
        Assert.Equal(expected.Select(f => Hash(f.Image)), frames.Select(f => Hash(f.Image)));
    }

    [Fact]
    public void HollowPacket_KeepsEachSliceHeader_AndEndsItWithTheStopBit()
    {
        // Arrange: a one-slice P picture. SPS/PPS (CAVLC, deblocking controls present) built bit by bit.
        var parser = H264HeaderParser.FromAvcC(AvcC(Sps(), Pps(cabac: false, deblockingControl: true)))!;
        var slice = new BitWriter();
        slice.Ue(0).Ue(0).Ue(0).Bits(3, 4); // first_mb, slice_type P, pps 0, frame_num 3 (4 bits)
        slice.Bits(5, 4);                    // pic_order_cnt_lsb
        slice.Bit(false);                    // num_ref_idx_active_override
        slice.Bit(false);                    // ref_pic_list_modification_flag_l0
        slice.Bit(false);                    // adaptive_ref_pic_marking_mode_flag
        slice.Se(-2);                        // slice_qp_delta
        slice.Ue(0).Se(1).Se(-1);            // deblocking on, alpha, beta
        var headerBits = slice.Length;
        slice.Bits(0b1011_0110_0101, 12);    // macroblock data (anything)
        var nal = slice.Nal(0x41);            // nal_ref_idc 2, type 1
        var packet = LengthPrefixed(nal);

        // Act
        var length = parser.HollowPacket(packet);

        // Assert: the NAL unit is the header byte, the header's bits, a 1 and zeros to the byte boundary.
        var expectedBytes = (8 + headerBits + 1 + 7) / 8;
        Assert.Equal(4 + expectedBytes, length);
        Assert.Equal(expectedBytes, (packet[0] << 24) | (packet[1] << 16) | (packet[2] << 8) | packet[3]);
        var kept = new BitWriter();
        kept.Bits(0x41, 8);
        for (var i = 0; i < headerBits; i++)
        {
            kept.Bit(((nal[1 + (i / 8)] >> (7 - (i % 8))) & 1) != 0);
        }

        kept.Bit(true);
        Assert.Equal(kept.Bytes(), packet.AsSpan(4, expectedBytes).ToArray());
        Assert.NotNull(parser.ParsePacket(packet.AsSpan(0, length))); // still a readable slice header
    }

    [Fact]
    public void HollowPacket_LeavesWhatItCannotRead_Unchanged()
    {
        var parser = H264HeaderParser.FromAvcC(AvcC(Sps(), Pps(cabac: false, deblockingControl: true)))!;
        var slice = new BitWriter();
        slice.Ue(0).Ue(0).Ue(7).Bits(3, 4).Bits(5, 4).Bits(0, 3); // PPS 7 does not exist
        var packet = LengthPrefixed(slice.Nal(0x41));
        var before = packet.ToArray();

        Assert.Equal(-1, parser.HollowPacket(packet));
        Assert.Equal(before, packet);
        Assert.Equal(-1, parser.HollowPacket(new byte[] { 0, 0, 0, 9, 0x41 })); // length past the data
    }

    [Fact]
    public void InBandParameterSets_ThatDifferFromTheAvcCRecord_AreNoticed()
    {
        // Arrange
        var sps = Sps();
        var parser = H264HeaderParser.FromAvcC(AvcC(sps, Pps(cabac: false, deblockingControl: true)))!;

        // Act / Assert: the same sets in band change nothing; a redefined PPS 0 (CABAC now) does.
        parser.ParsePacket([.. LengthPrefixed(sps), .. LengthPrefixed(Pps(cabac: false, deblockingControl: true))]);
        Assert.False(parser.ParameterSetsChanged);
        parser.ParsePacket(LengthPrefixed(Pps(cabac: true, deblockingControl: true)));
        Assert.True(parser.ParameterSetsChanged);
    }

    private static byte[] Sps()
    {
        // Baseline-style SPS: profile 66, frame_num and POC LSB of 4 bits, POC type 0, 2 reference frames, frames only.
        var w = new BitWriter();
        w.Bits(66, 8).Bits(0, 8).Bits(30, 8).Ue(0).Ue(0).Ue(0).Ue(0).Ue(2).Bit(false).Ue(4).Ue(2).Bit(true).Bit(true).Bit(false).Bit(false);
        return w.Nal(0x67);
    }

    private static byte[] Pps(bool cabac, bool deblockingControl)
    {
        var w = new BitWriter();
        w.Ue(0).Ue(0).Bit(cabac).Bit(false).Ue(0).Ue(0).Ue(0).Bit(false).Bits(0, 2).Se(0).Se(0).Se(0).Bit(deblockingControl).Bit(false).Bit(false);
        return w.Nal(0x68);
    }

    private static byte[] AvcC(byte[] sps, byte[] pps) =>
        [1, sps[1], sps[2], sps[3], 0xff, 0xe1, (byte)(sps.Length >> 8), (byte)sps.Length, .. sps, 1, (byte)(pps.Length >> 8), (byte)pps.Length, .. pps];

    private static byte[] LengthPrefixed(byte[] nal) => [0, 0, (byte)(nal.Length >> 8), (byte)nal.Length, .. nal];

    /// <summary>Writes H.264 syntax elements (no emulation prevention: the test headers never hold 00 00 0x).</summary>
    private sealed class BitWriter
    {
        private readonly List<bool> _bits = [];

        public int Length => _bits.Count;

        public BitWriter Bit(bool bit)
        {
            _bits.Add(bit);
            return this;
        }

        public BitWriter Bits(int value, int count)
        {
            for (var i = count - 1; i >= 0; i--)
            {
                _bits.Add(((value >> i) & 1) != 0);
            }

            return this;
        }

        public BitWriter Ue(int value)
        {
            var v = value + 1;
            var length = 32 - int.LeadingZeroCount(v);
            return Bits(0, length - 1).Bits(v, length);
        }

        public BitWriter Se(int value) => Ue(value > 0 ? (2 * value) - 1 : -2 * value);

        public byte[] Bytes()
        {
            var bytes = new byte[(_bits.Count + 7) / 8];
            for (var i = 0; i < _bits.Count; i++)
            {
                if (_bits[i])
                {
                    bytes[i / 8] |= (byte)(0x80 >> (i % 8));
                }
            }

            return bytes;
        }

        /// <summary>The NAL unit: header byte, these bits, the RBSP stop bit.</summary>
        public byte[] Nal(byte header)
        {
            var rbsp = new BitWriter();
            rbsp._bits.AddRange(_bits);
            rbsp.Bit(true);
            return [header, .. rbsp.Bytes()];
        }
    }

    [Fact]
    public void Parser_RejectsWhatIsNotAnAvcCRecord()
    {
        Assert.Null(H264HeaderParser.FromAvcC([]));
        Assert.Null(H264HeaderParser.FromAvcC([0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f])); // Annex B start code
        Assert.Null(H264HeaderParser.FromAvcC([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 40, 0x67])); // SPS cut short
    }

    [Fact]
    public void Matroska_GetsReferencesToo_AndNonH264StreamsNone()
    {
        using var mkv = VideoDecoderSession.OpenFile(PathOf("small.mkv"), new VideoOpenOptions());
        Assert.NotNull(mkv.Scan(CancellationToken.None).References);

        using var withoutSkipping = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = false });
        Assert.Null(withoutSkipping.Scan(CancellationToken.None).References);
    }

    private static async Task<List<VideoFrame>> ToListAsync(IAsyncEnumerable<VideoFrame> frames)
    {
        var list = new List<VideoFrame>();
        await foreach (var frame in frames)
        {
            list.Add(frame);
        }

        return list;
    }
}
