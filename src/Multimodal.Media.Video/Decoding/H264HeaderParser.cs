// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video.Decoding;

/// <summary>
/// Reads the parts of H.264 parameter sets and slice headers (ITU-T H.264 §7.3) that decide reference lists and
/// reference marking, from AVCC data: the <c>avcC</c> record of MP4/Matroska extradata and length-prefixed packets.
/// </summary>
/// <remarks>Anything outside the subset <see cref="H264References"/> models makes <see cref="ParsePacket"/> return null.</remarks>
internal sealed class H264HeaderParser
{
    private const int MaxHeaderBytes = 1024;

    private readonly Dictionary<int, Sps> _sps = [];
    private readonly Dictionary<int, Pps> _pps = [];
    private readonly int _lengthSize;

    private H264HeaderParser(int lengthSize) => _lengthSize = lengthSize;

    /// <summary>Gets MaxFrameNum of the last sequence parameter set a slice used (0 before any).</summary>
    public int MaxFrameNum { get; private set; }

    /// <summary>Gets max_num_ref_frames of that sequence parameter set.</summary>
    public int MaxReferenceFrames { get; private set; }

    /// <summary>Gets whether the slices so far used more than one sequence parameter set layout.</summary>
    public bool Inconsistent { get; private set; }

    /// <summary>Reads an <c>avcC</c> record (AVCDecoderConfigurationRecord).</summary>
    /// <param name="extradata">The codec's extradata.</param>
    /// <returns>The parser, or null when the extradata is not an avcC record (Annex B streams) or its parameter sets are outside the subset.</returns>
    public static H264HeaderParser? FromAvcC(ReadOnlySpan<byte> extradata)
    {
        if (extradata.Length < 7 || extradata[0] != 1)
        {
            return null;
        }

        var parser = new H264HeaderParser((extradata[4] & 3) + 1);
        var at = 5;
        for (var set = 0; set < 2; set++)
        {
            if (at >= extradata.Length)
            {
                return null;
            }

            var count = set == 0 ? extradata[at] & 31 : extradata[at];
            at++;
            for (var i = 0; i < count; i++)
            {
                if (at + 2 > extradata.Length)
                {
                    return null;
                }

                var length = (extradata[at] << 8) | extradata[at + 1];
                at += 2;
                if (at + length > extradata.Length || length < 1 || !parser.ReadParameterSet(extradata.Slice(at, length)))
                {
                    return null;
                }

                at += length;
            }
        }

        return parser;
    }

    /// <summary>Reads one packet (one access unit of length-prefixed NAL units).</summary>
    /// <param name="data">The packet's data.</param>
    /// <returns>The picture's reference facts, or null when a header is outside the subset or damaged.</returns>
    public H264Picture? ParsePacket(ReadOnlySpan<byte> data)
    {
        var slices = new List<H264Slice>();
        int? frameNum = null;
        var idr = false;
        var reference = false;
        int[]? removed = null;
        var at = 0;
        while (at + _lengthSize <= data.Length)
        {
            var length = 0;
            for (var i = 0; i < _lengthSize; i++)
            {
                length = (length << 8) | data[at + i];
            }

            at += _lengthSize;
            if (length < 1 || at + length > data.Length)
            {
                return null;
            }

            var nal = data.Slice(at, length);
            at += length;
            var type = nal[0] & 31;
            switch (type)
            {
                case 7 or 8:
                    if (!ReadParameterSet(nal))
                    {
                        return null;
                    }

                    break;
                case 1 or 5:
                    var slice = ReadSlice(nal, out var sliceFrameNum, out var sliceRemoved);
                    if (slice is null || (frameNum is { } f && f != sliceFrameNum))
                    {
                        return null;
                    }

                    frameNum = sliceFrameNum;
                    idr = type == 5;
                    reference = (nal[0] >> 5) != 0;
                    removed ??= sliceRemoved;
                    slices.Add(slice);
                    break;
                case 2 or 3 or 4 or 20:
                    return null; // data partitioning, MVC
            }
        }

        return frameNum is { } frame ? new H264Picture(frame, idr, reference, removed, slices) : null;
    }

    private bool ReadParameterSet(ReadOnlySpan<byte> nal)
    {
        var r = new BitReader(nal[1..], MaxHeaderBytes);
        try
        {
            return (nal[0] & 31) switch
            {
                7 => ReadSps(ref r),
                8 => ReadPps(ref r),
                _ => true,
            };
        }
        catch (IndexOutOfRangeException)
        {
            return false;
        }
    }

    private bool ReadSps(ref BitReader r)
    {
        var profile = r.Bits(8);
        r.Bits(16);
        var id = r.Ue();
        var chromaArrayType = 1;
        var separatePlanes = false;
        if (profile is 100 or 110 or 122 or 244 or 44 or 83 or 86 or 118 or 128 or 138 or 139 or 134 or 135)
        {
            var chroma = r.Ue();
            chromaArrayType = chroma;
            if (chroma == 3 && r.Bit())
            {
                chromaArrayType = 0;
                separatePlanes = true;
            }

            r.Ue();
            r.Ue();
            r.Bit();
            if (r.Bit())
            {
                for (var i = 0; i < (chroma != 3 ? 8 : 12); i++)
                {
                    if (r.Bit())
                    {
                        SkipScalingList(ref r, i < 6 ? 16 : 64);
                    }
                }
            }
        }

        var log2MaxFrameNum = r.Ue() + 4;
        var pocType = r.Ue();
        var log2MaxPocLsb = 0;
        var deltaAlwaysZero = false;
        if (pocType == 0)
        {
            log2MaxPocLsb = r.Ue() + 4;
        }
        else if (pocType == 1)
        {
            deltaAlwaysZero = r.Bit();
            r.Se();
            r.Se();
            var cycle = r.Ue();
            for (var i = 0; i < cycle; i++)
            {
                r.Se();
            }
        }

        var maxRefFrames = r.Ue();
        var gapsAllowed = r.Bit();
        r.Ue();
        r.Ue();
        var frameMbsOnly = r.Bit();
        if (!frameMbsOnly || gapsAllowed || log2MaxFrameNum > 16 || id > 31)
        {
            return false; // fields, or frame_num gaps the stream may use on purpose
        }

        _sps[id] = new Sps(log2MaxFrameNum, pocType, log2MaxPocLsb, deltaAlwaysZero, maxRefFrames, chromaArrayType, separatePlanes);
        return true;
    }

    private bool ReadPps(ref BitReader r)
    {
        var id = r.Ue();
        var spsId = r.Ue();
        r.Bit();
        var bottomFieldPocPresent = r.Bit();
        if (r.Ue() != 0 || id > 255)
        {
            return false; // slice groups
        }

        var l0 = r.Ue() + 1;
        var l1 = r.Ue() + 1;
        var weightedPred = r.Bit();
        var weightedBipred = r.Bits(2);
        r.Se();
        r.Se();
        r.Se();
        r.Bit();
        r.Bit();
        var redundantPresent = r.Bit();
        _pps[id] = new Pps(spsId, bottomFieldPocPresent, l0, l1, weightedPred, weightedBipred, redundantPresent);
        return true;
    }

    private H264Slice? ReadSlice(ReadOnlySpan<byte> nal, out int frameNum, out int[]? removed)
    {
        frameNum = 0;
        removed = null;
        var r = new BitReader(nal[1..], MaxHeaderBytes);
        var idr = (nal[0] & 31) == 5;
        var isReference = (nal[0] >> 5) != 0;
        try
        {
            r.Ue();
            var type = (r.Ue() % 5) switch { 0 or 3 => H264SliceType.P, 1 => H264SliceType.B, _ => H264SliceType.I };
            if (!_pps.TryGetValue(r.Ue(), out var pps) || !_sps.TryGetValue(pps.SpsId, out var sps))
            {
                return null;
            }

            if (sps.SeparatePlanes)
            {
                r.Bits(2);
            }

            var maxFrameNum = 1 << sps.Log2MaxFrameNum;
            if (MaxFrameNum != 0 && (MaxFrameNum != maxFrameNum || MaxReferenceFrames != sps.MaxRefFrames))
            {
                Inconsistent = true;
            }

            MaxFrameNum = maxFrameNum;
            MaxReferenceFrames = sps.MaxRefFrames;
            frameNum = r.Bits(sps.Log2MaxFrameNum);
            if (idr)
            {
                r.Ue();
            }

            if (sps.PocType == 0)
            {
                r.Bits(sps.Log2MaxPocLsb);
                if (pps.BottomFieldPocPresent)
                {
                    r.Se();
                }
            }
            else if (sps.PocType == 1 && !sps.DeltaAlwaysZero)
            {
                r.Se();
                if (pps.BottomFieldPocPresent)
                {
                    r.Se();
                }
            }

            if (pps.RedundantPresent && r.Ue() != 0)
            {
                return null; // a redundant slice
            }

            if (type == H264SliceType.B)
            {
                r.Bit();
            }

            int l0 = pps.L0, l1 = pps.L1;
            if (type != H264SliceType.I && r.Bit())
            {
                l0 = r.Ue() + 1;
                if (type == H264SliceType.B)
                {
                    l1 = r.Ue() + 1;
                }
            }

            (int, int)[] mods0 = [], mods1 = [];
            if (type != H264SliceType.I)
            {
                if (!ReadModifications(ref r, out mods0) || (type == H264SliceType.B && !ReadModifications(ref r, out mods1)))
                {
                    return null;
                }
            }

            if ((pps.WeightedPred && type == H264SliceType.P) || (pps.WeightedBipred == 1 && type == H264SliceType.B))
            {
                r.Ue();
                if (sps.ChromaArrayType != 0)
                {
                    r.Ue();
                }

                for (var list = 0; list < (type == H264SliceType.B ? 2 : 1); list++)
                {
                    for (var i = 0; i < (list == 0 ? l0 : l1); i++)
                    {
                        if (r.Bit())
                        {
                            r.Se();
                            r.Se();
                        }

                        if (sps.ChromaArrayType != 0 && r.Bit())
                        {
                            r.Se();
                            r.Se();
                            r.Se();
                            r.Se();
                        }
                    }
                }
            }

            if (isReference)
            {
                if (idr)
                {
                    r.Bit();
                    if (r.Bit())
                    {
                        return null; // a long-term IDR
                    }
                }
                else if (r.Bit())
                {
                    var ops = new List<int>();
                    while (true)
                    {
                        var op = r.Ue();
                        if (op == 0)
                        {
                            break;
                        }

                        if (op == 1)
                        {
                            ops.Add(r.Ue() + 1);
                        }
                        else if (op == 4)
                        {
                            r.Ue();
                        }
                        else
                        {
                            return null; // long-term references or a reset
                        }
                    }

                    removed = [.. ops];
                }
            }

            return new H264Slice(type, l0, l1, mods0, mods1);
        }
        catch (IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static bool ReadModifications(ref BitReader r, out (int, int)[] modifications)
    {
        modifications = [];
        if (!r.Bit())
        {
            return true;
        }

        var list = new List<(int, int)>();
        while (true)
        {
            var idc = r.Ue();
            if (idc == 3)
            {
                break;
            }

            if (idc > 1 || list.Count > 32)
            {
                return false; // long-term pictures (or garbage)
            }

            list.Add((idc, r.Ue()));
        }

        modifications = [.. list];
        return true;
    }

    private static void SkipScalingList(ref BitReader r, int size)
    {
        int last = 8, next = 8;
        for (var j = 0; j < size; j++)
        {
            if (next != 0)
            {
                next = (last + r.Se() + 256) % 256;
            }

            last = next == 0 ? last : next;
        }
    }

    private sealed record Sps(int Log2MaxFrameNum, int PocType, int Log2MaxPocLsb, bool DeltaAlwaysZero, int MaxRefFrames, int ChromaArrayType, bool SeparatePlanes);

    private sealed record Pps(int SpsId, bool BottomFieldPocPresent, int L0, int L1, bool WeightedPred, int WeightedBipred, bool RedundantPresent);

    /// <summary>Reads bits from a NAL unit's payload, dropping emulation-prevention bytes (00 00 03) on the way.</summary>
    private ref struct BitReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly int _limit;
        private int _byte;
        private int _bit;
        private int _zeros;
        private int _current;

        public BitReader(ReadOnlySpan<byte> data, int limit)
        {
            _data = data;
            _limit = Math.Min(limit, data.Length);
            _byte = -1;
            _bit = 8;
        }

        public bool Bit()
        {
            if (_bit == 8)
            {
                Advance();
            }

            return ((_current >> (7 - _bit++)) & 1) != 0;
        }

        public int Bits(int count)
        {
            var value = 0;
            for (var i = 0; i < count; i++)
            {
                value = (value << 1) | (Bit() ? 1 : 0);
            }

            return value;
        }

        public int Ue()
        {
            var zeros = 0;
            while (!Bit())
            {
                if (++zeros > 31)
                {
                    throw new IndexOutOfRangeException("An Exp-Golomb code longer than 32 bits.");
                }
            }

            return (int)((1u << zeros) - 1 + (uint)Bits(zeros));
        }

        public int Se()
        {
            var k = Ue();
            return (k & 1) != 0 ? (k + 1) / 2 : -(k / 2);
        }

        private void Advance()
        {
            _byte++;
            if (_byte >= _limit)
            {
                throw new IndexOutOfRangeException("The header runs past the data.");
            }

            if (_zeros >= 2 && _data[_byte] == 3)
            {
                _zeros = 0;
                _byte++;
                if (_byte >= _limit)
                {
                    throw new IndexOutOfRangeException("The header runs past the data.");
                }
            }

            _current = _data[_byte];
            _zeros = _current == 0 ? _zeros + 1 : 0;
            _bit = 0;
        }
    }
}
