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

    /// <summary>
    /// Gets whether a packet carried a parameter set that the avcC record does not hold as it is (a new id, or an id
    /// redefined in a field this parser reads). A decoder that seeks past such a packet could not know it.
    /// </summary>
    public bool ParameterSetsChanged { get; private set; }

    private bool _afterExtradata;

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

        parser._afterExtradata = true;
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
        int length;
        while ((length = NextNal(data, ref at)) != 0)
        {
            if (length < 0)
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

    /// <summary>
    /// Rewrites a packet in place so that each of its slices keeps its header and loses its data: the decoder still
    /// runs everything the header does (the picture enters the reference buffer, its memory-management operations
    /// execute) but decodes no macroblocks. Other NAL units are kept; parameter sets update this parser.
    /// </summary>
    /// <param name="data">The packet's data (length-prefixed NAL units), rewritten in place.</param>
    /// <returns>The packet's new length, or -1 (the data then unchanged) when a header is outside the subset or damaged.</returns>
    /// <remarks>
    /// Each slice NAL unit ends right after its header with the RBSP stop bit, so it is well formed and its data is
    /// empty. Only for pictures whose pixels nothing shown or predicted from ever reads.
    /// </remarks>
    public int HollowPacket(Span<byte> data)
    {
        // First every unit is checked and planned, then the data is rewritten: a failure leaves the packet as it was.
        var plan = new List<(int Start, int Kept, int Last)>();
        var at = 0;
        int length;
        while ((length = NextNal(data, ref at)) != 0)
        {
            if (length < 0)
            {
                return -1;
            }

            var nal = data.Slice(at, length);
            var kept = length;
            var last = -1;
            switch (nal[0] & 31)
            {
                case 7 or 8:
                    if (!ReadParameterSet(nal))
                    {
                        return -1;
                    }

                    break;
                case 1 or 5:
                    if (ReadSlice(nal, out _, out _, out var headerBits, throughEnd: true) is null || headerBits < 8)
                    {
                        return -1;
                    }

                    // The byte holding the header's last bit gets the stop bit after it (or a stop byte follows).
                    var bytes = (headerBits + 7) / 8;
                    var used = headerBits % 8;
                    kept = used == 0 ? bytes + 1 : bytes;
                    last = used == 0 ? 0x80 : (nal[bytes - 1] & (0xFF << (8 - used)) & 0xFF) | (0x80 >> used);
                    if (kept > length || (last <= 3 && kept >= 3 && nal[kept - 2] == 0 && nal[kept - 3] == 0))
                    {
                        return -1; // no room, or 00 00 0x would read as a start code or an emulation-prevention byte
                    }

                    break;
                case 2 or 3 or 4 or 20:
                    return -1; // data partitioning, MVC
            }

            plan.Add((at, kept, last));
            at += length;
        }

        var write = 0;
        foreach (var (start, kept, last) in plan)
        {
            for (var i = 0; i < _lengthSize; i++)
            {
                data[write + i] = (byte)(kept >> (8 * (_lengthSize - 1 - i)));
            }

            data.Slice(start, kept).CopyTo(data[(write + _lengthSize)..]);
            write += _lengthSize + kept;
            if (last >= 0)
            {
                data[write - 1] = (byte)last;
            }
        }

        return write;
    }

    /// <summary>Reads the length prefix of the next NAL unit and steps over it.</summary>
    /// <param name="data">A packet of length-prefixed NAL units.</param>
    /// <param name="at">The offset of the prefix; on return, of the unit.</param>
    /// <returns>The unit's length; 0 at the end of the data; -1 when the length is 0 or runs past the data.</returns>
    private int NextNal(ReadOnlySpan<byte> data, ref int at)
    {
        if (at + _lengthSize > data.Length)
        {
            return 0;
        }

        var length = 0;
        for (var i = 0; i < _lengthSize; i++)
        {
            length = (length << 8) | data[at + i];
        }

        at += _lengthSize;
        return length < 1 || at + length > data.Length ? -1 : length;
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

        var sps = new Sps(log2MaxFrameNum, pocType, log2MaxPocLsb, deltaAlwaysZero, maxRefFrames, chromaArrayType, separatePlanes);
        ParameterSetsChanged |= _afterExtradata && (!_sps.TryGetValue(id, out var known) || known != sps);
        _sps[id] = sps;
        return true;
    }

    private bool ReadPps(ref BitReader r)
    {
        var id = r.Ue();
        var spsId = r.Ue();
        var cabac = r.Bit();
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
        var deblockingControl = r.Bit();
        r.Bit();
        var redundantPresent = r.Bit();
        var pps = new Pps(spsId, bottomFieldPocPresent, l0, l1, weightedPred, weightedBipred, redundantPresent, cabac, deblockingControl);
        ParameterSetsChanged |= _afterExtradata && (!_pps.TryGetValue(id, out var known) || known != pps);
        _pps[id] = pps;
        return true;
    }

    private H264Slice? ReadSlice(ReadOnlySpan<byte> nal, out int frameNum, out int[]? removed) => ReadSlice(nal, out frameNum, out removed, out _);

    /// <summary>Reads a slice header.</summary>

    /// <param name="nal">The slice NAL unit.</param>
    /// <param name="frameNum">The slice's frame_num.</param>
    /// <param name="removed">The pictures its MMCO 1 operations remove.</param>
    /// <param name="headerBits">With <paramref name="throughEnd"/>, the NAL unit's raw length in bits up to the end of the slice header (NAL header byte and emulation-prevention bytes included); otherwise -1.</param>
    /// <param name="throughEnd">Whether to read the whole slice header rather than stop after the reference marking.</param>
    /// <returns>The slice's reference facts, or null when it is outside the subset or damaged.</returns>
    private H264Slice? ReadSlice(ReadOnlySpan<byte> nal, out int frameNum, out int[]? removed, out int headerBits, bool throughEnd = false)
    {
        frameNum = 0;
        removed = null;
        headerBits = -1;
        var r = new BitReader(nal[1..], MaxHeaderBytes);
        var idr = (nal[0] & 31) == 5;
        var isReference = (nal[0] >> 5) != 0;
        try
        {
            r.Ue();
            var rawType = r.Ue() % 5;
            var type = rawType switch { 0 or 3 => H264SliceType.P, 1 => H264SliceType.B, _ => H264SliceType.I };
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

            if (throughEnd)
            {
                // The rest of slice_header(): cabac_init_idc, slice_qp_delta, SP/SI fields, deblocking controls.
                if (pps.Cabac && rawType is not (2 or 4))
                {
                    r.Ue();
                }

                r.Se();
                if (rawType is 3 or 4)
                {
                    if (rawType == 3)
                    {
                        r.Bit();
                    }

                    r.Se();
                }

                if (pps.DeblockingControl && r.Ue() != 1)
                {
                    r.Se();
                    r.Se();
                }

                headerBits = r.RawBitsRead + 8;
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

    private sealed record Pps(int SpsId, bool BottomFieldPocPresent, int L0, int L1, bool WeightedPred, int WeightedBipred, bool RedundantPresent, bool Cabac, bool DeblockingControl);

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

        /// <summary>Gets the number of bits of the raw data read so far, emulation-prevention bytes included.</summary>
        public readonly int RawBitsRead => _byte < 0 ? 0 : (_byte * 8) + _bit;

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
