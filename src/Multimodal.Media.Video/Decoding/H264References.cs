// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video.Decoding;

/// <summary>
/// Which earlier pictures each H.264 picture references, read from the slice headers of an AVCC (MP4/Matroska) stream
/// without decoding: the reference lists of every slice (ITU-T H.264 §8.2.4), cut to the active entries, over a
/// simulated decoded picture buffer (sliding window and memory-management operation 1).
/// </summary>
/// <remarks>
/// Used to find the reference pictures no wanted frame depends on, which the decoder then reconstructs without the
/// deblocking filter: they still have to be decoded (their memory-management operations shape the buffer), but their
/// pixels are never shown or predicted from. Anything outside the simple, common subset — fields, long-term references,
/// slice groups, redundant or partitioned slices, frame-number gaps, operations other than 1 and 4, unparsable headers —
/// makes <see cref="Build"/> give up (return <see langword="null"/>), and decoding then deblocks every picture as before.
/// B-slice lists are ordered by presentation timestamp, which is picture order for a stream whose timestamps are right.
/// </remarks>
internal sealed class H264References
{
    private readonly int[][] _refs;
    private readonly bool[] _isReference;

    private H264References(int[][] refs, bool[] isReference)
    {
        _refs = refs;
        _isReference = isReference;
    }

    /// <summary>Gets whether the picture at a decode-order position is a reference picture (nal_ref_idc ≠ 0).</summary>
    /// <param name="position">The position.</param>
    /// <returns>Whether other pictures may reference it.</returns>
    public bool IsReference(int position) => _isReference[position];

    /// <summary>
    /// Gets or sets whether every packet's slice headers parse with the parameter sets of the stream's avcC record
    /// (no in-band parameter set changes them), so that a decoder that seeked can still rewrite packets
    /// (<see cref="VideoOpenOptions.HollowUnneededReferences"/>).
    /// </summary>
    public bool FixedParameterSets { get; set; }

    /// <summary>Adds the pictures that decoding the given ones needs (their references, recursively) to <paramref name="needed"/>.</summary>
    /// <param name="wanted">Decode-order positions of the wanted pictures.</param>
    /// <param name="needed">Receives the wanted positions and every position they depend on.</param>
    public void Close(IEnumerable<int> wanted, HashSet<int> needed)
    {
        var stack = new Stack<int>(wanted);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (!needed.Add(p))
            {
                continue;
            }

            foreach (var r in _refs[p])
            {
                stack.Push(r);
            }
        }
    }

    /// <summary>Simulates the reference buffer over a whole stream.</summary>
    /// <param name="pictures">Each packet's parsed headers in decode order (null where the packet had no slice).</param>
    /// <param name="pts">Each packet's presentation timestamp.</param>
    /// <param name="maxFrameNum">MaxFrameNum of the stream's sequence parameter set.</param>
    /// <param name="maxReferenceFrames">max_num_ref_frames of the sequence parameter set.</param>
    /// <returns>The references, or null when the stream does something the simulation does not model.</returns>
    public static H264References? Build(IReadOnlyList<H264Picture?> pictures, IReadOnlyList<long> pts, int maxFrameNum, int maxReferenceFrames)
    {
        var refs = new int[pictures.Count][];
        var isReference = new bool[pictures.Count];
        var buffer = new List<int>();
        var lastReferenceFrameNum = -1;
        for (var k = 0; k < pictures.Count; k++)
        {
            if (pictures[k] is not { } pic)
            {
                return null;
            }

            isReference[k] = pic.IsReference;
            if (pic.IsIdr)
            {
                buffer.Clear();
            }
            else if (lastReferenceFrameNum >= 0 && pic.FrameNum != lastReferenceFrameNum && pic.FrameNum != (lastReferenceFrameNum + 1) % maxFrameNum)
            {
                return null; // a frame_num gap: the decoder would insert pictures the simulation does not know
            }

            var cur = pic.FrameNum;
            int Wrap(int q) => pictures[q]!.FrameNum > cur ? pictures[q]!.FrameNum - maxFrameNum : pictures[q]!.FrameNum;

            var used = new List<int>(2);
            foreach (var slice in pic.Slices)
            {
                if (slice.Type == H264SliceType.P)
                {
                    // Default order: descending PicNum (FrameNumWrap).
                    var list0 = new List<int>(buffer);
                    list0.Sort((a, b) => Wrap(b).CompareTo(Wrap(a)));
                    if (!Modify(list0, slice.Modifications0, cur, maxFrameNum, Wrap, buffer))
                    {
                        return null;
                    }

                    AddActive(used, list0, slice.ActiveL0);
                }
                else if (slice.Type == H264SliceType.B)
                {
                    // Default order: list 0 the earlier pictures by descending order then the later ones ascending;
                    // list 1 the other way round.
                    var before = buffer.FindAll(q => pts[q] < pts[k]);
                    before.Sort((a, b) => pts[b].CompareTo(pts[a]));
                    var after = buffer.FindAll(q => pts[q] > pts[k]);
                    after.Sort((a, b) => pts[a].CompareTo(pts[b]));
                    var list0 = new List<int>(before);
                    list0.AddRange(after);
                    var list1 = new List<int>(after);
                    list1.AddRange(before);
                    if (list1.Count > 1 && list1.SequenceEqual(list0))
                    {
                        (list1[0], list1[1]) = (list1[1], list1[0]);
                    }

                    if (!Modify(list0, slice.Modifications0, cur, maxFrameNum, Wrap, buffer) || !Modify(list1, slice.Modifications1, cur, maxFrameNum, Wrap, buffer))
                    {
                        return null;
                    }

                    AddActive(used, list0, slice.ActiveL0);
                    AddActive(used, list1, slice.ActiveL1);
                }
            }

            refs[k] = [.. used];
            if (!pic.IsReference)
            {
                continue;
            }

            if (pic.RemovedPictureNumbers is { } removed)
            {
                foreach (var diff in removed)
                {
                    var picNum = cur - diff;
                    var found = buffer.FindIndex(q => Wrap(q) == picNum);
                    if (found < 0)
                    {
                        return null;
                    }

                    buffer.RemoveAt(found);
                }
            }
            else if (buffer.Count >= Math.Max(1, maxReferenceFrames))
            {
                var oldest = 0;
                for (var i = 1; i < buffer.Count; i++)
                {
                    if (Wrap(buffer[i]) < Wrap(buffer[oldest]))
                    {
                        oldest = i;
                    }
                }

                buffer.RemoveAt(oldest);
            }

            buffer.Add(k);
            lastReferenceFrameNum = cur;
        }

        return new H264References(refs, isReference);
    }

    private static void AddActive(List<int> used, List<int> list, int active)
    {
        for (var i = 0; i < Math.Min(active, list.Count); i++)
        {
            if (!used.Contains(list[i]))
            {
                used.Add(list[i]);
            }
        }
    }

    // §8.2.4.3.1: each modification moves the short-term picture with the computed picture number to the next index.
    private static bool Modify(List<int> list, (int Idc, int Value)[] modifications, int cur, int maxFrameNum, Func<int, int> wrap, List<int> buffer)
    {
        var predicted = cur;
        for (var index = 0; index < modifications.Length; index++)
        {
            var (idc, value) = modifications[index];
            var noWrap = idc == 0 ? predicted - (value + 1) : predicted + (value + 1);
            if (noWrap < 0)
            {
                noWrap += maxFrameNum;
            }
            else if (noWrap >= maxFrameNum)
            {
                noWrap -= maxFrameNum;
            }

            predicted = noWrap;
            var picNum = noWrap > cur ? noWrap - maxFrameNum : noWrap;
            var target = buffer.FindIndex(q => wrap(q) == picNum);
            if (target < 0)
            {
                return false;
            }

            // Insert at the index; a later copy of the same picture drops out (an earlier one stays).
            var picture = buffer[target];
            list.Insert(Math.Min(index, list.Count), picture);
            var later = list.FindIndex(index + 1, q => q == picture);
            if (later >= 0)
            {
                list.RemoveAt(later);
            }
        }

        return true;
    }
}

/// <summary>An H.264 slice type, reduced to what reference lists depend on (SP counts as P, SI as I).</summary>
internal enum H264SliceType
{
    /// <summary>Predicted from list 0.</summary>
    P,

    /// <summary>Predicted from lists 0 and 1.</summary>
    B,

    /// <summary>Intra only.</summary>
    I,
}

/// <summary>What one slice header says about references.</summary>
/// <param name="Type">The slice type.</param>
/// <param name="ActiveL0">num_ref_idx_l0_active.</param>
/// <param name="ActiveL1">num_ref_idx_l1_active.</param>
/// <param name="Modifications0">ref_pic_list_modification of list 0 (idc 0 or 1, abs_diff_pic_num_minus1).</param>
/// <param name="Modifications1">The same for list 1.</param>
internal sealed record H264Slice(H264SliceType Type, int ActiveL0, int ActiveL1, (int Idc, int Value)[] Modifications0, (int Idc, int Value)[] Modifications1);

/// <summary>What one picture's slice headers say: its frame number, whether it is a reference, its marking and slices.</summary>
/// <param name="FrameNum">frame_num.</param>
/// <param name="IsIdr">Whether it is an IDR picture.</param>
/// <param name="IsReference">Whether nal_ref_idc ≠ 0.</param>
/// <param name="RemovedPictureNumbers">For adaptive marking, difference_of_pic_nums_minus1 + 1 of each operation 1; null for the sliding window.</param>
/// <param name="Slices">The picture's slices.</param>
internal sealed record H264Picture(int FrameNum, bool IsIdr, bool IsReference, int[]? RemovedPictureNumbers, IReadOnlyList<H264Slice> Slices);
