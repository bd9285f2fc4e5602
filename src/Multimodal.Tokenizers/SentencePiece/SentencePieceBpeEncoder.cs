// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>SentencePiece's BPE segmentation (<c>bpe::Model::SampleEncode</c> without dropout) plus the id post-processing of <c>PopulateSentencePieceText</c>.</summary>
/// <remarks>
/// <para>
/// The normalized text starts as one symbol per character, except that user-defined symbols are single frozen
/// symbols that never merge. Every adjacent pair whose concatenation is a vocabulary piece (normal, user-defined or
/// unused) goes into a priority queue ordered by the piece's score, highest first, then by the left symbol's
/// position, leftmost first. The best pair merges, stale queue entries (a side already merged away or grown) are
/// skipped, and the two pairs formed with the new symbol's neighbours are queued. Symbols that end up as unused
/// pieces are split back along the last recorded merge that produced them (<c>rev_merge</c>). A final symbol's id is
/// <c>PieceToId</c>: control/unknown/byte pieces first, then the others, else the unknown id.
/// </para>
/// <para>
/// Post-processing: a run of unknown symbols is one unknown id, or each unknown symbol's UTF-8 bytes as
/// <c>&lt;0xXX&gt;</c> pieces when byte fallback is on. Thread-safe: immutable, with per-thread scratch buffers.
/// </para>
/// </remarks>
internal sealed class SentencePieceBpeEncoder
{
    [ThreadStatic]
    private static Workspace? t_workspace;

    private readonly SentencePieceByteTrie _pieces;
    private readonly SentencePieceByteTrie _reserved;
    private readonly SentencePieceByteTrie? _userDefined;
    private readonly float[] _scores;
    private readonly SentencePiecePieceType[] _types;
    private readonly bool _hasUnused;
    private readonly int _unkId;
    private readonly int[]? _byteIds;

    /// <summary>Initializes the encoder from a model's pieces.</summary>
    /// <param name="pieces">The pieces in id order.</param>
    /// <param name="unkId">The id of the unknown piece.</param>
    /// <param name="byteFallback">The trainer spec's <c>byte_fallback</c>.</param>
    /// <param name="userDefined">The prefix matcher of user-defined symbols, or null when there are none.</param>
    public SentencePieceBpeEncoder(IReadOnlyList<SentencePieceProto> pieces, int unkId, bool byteFallback, SentencePieceByteTrie? userDefined)
    {
        _unkId = unkId;
        _userDefined = userDefined is { Count: > 0 } ? userDefined : null;
        _scores = new float[pieces.Count];
        _types = new SentencePiecePieceType[pieces.Count];
        var normal = new List<(byte[] Key, int Value)>(pieces.Count);
        var reserved = new List<(byte[] Key, int Value)>();
        for (var i = 0; i < pieces.Count; i++)
        {
            var p = pieces[i];
            _scores[i] = p.Score;
            _types[i] = p.Type;
            _hasUnused |= p.Type == SentencePiecePieceType.Unused;
            if (p.Type is SentencePiecePieceType.Normal or SentencePiecePieceType.UserDefined or SentencePiecePieceType.Unused)
            {
                normal.Add((p.Piece, i));
            }
            else
            {
                reserved.Add((p.Piece, i));
            }
        }

        _pieces = SentencePieceByteTrie.Build(normal);
        _reserved = SentencePieceByteTrie.Build(reserved);
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (var b = 0; b < 256; b++)
            {
                _byteIds[b] = PieceToId(Encoding.ASCII.GetBytes($"<0x{b:X2}>"));
            }
        }
    }

    /// <summary>Segments normalized UTF-8 and appends the ids.</summary>
    /// <param name="normalized">The normalized text.</param>
    /// <param name="ids">The list that receives the ids.</param>
    public void Encode(ReadOnlySpan<byte> normalized, List<int> ids)
    {
        if (normalized.IsEmpty)
        {
            return;
        }

        var workspace = t_workspace ?? new Workspace();
        t_workspace = null;
        var symbols = ArrayPool<Symbol>.Shared.Rent(normalized.Length);
        try
        {
            var count = Split(normalized, symbols);
            Merge(normalized, symbols.AsSpan(0, count), workspace);

            var previousUnknown = false;
            for (var index = 0; index != -1; index = symbols[index].Next)
            {
                Resegment(normalized, symbols[index].Start, symbols[index].Length, workspace, ids, ref previousUnknown);
            }
        }
        finally
        {
            ArrayPool<Symbol>.Shared.Return(symbols);
            workspace.Queue.Clear();
            workspace.ReverseMerges.Clear();
            t_workspace = workspace;
        }
    }

    /// <summary>
    /// The queue key of a pair: smaller is better. The high half orders by score, highest first (the float's bits
    /// mapped to an order-preserving unsigned integer, then inverted); the low half by position, leftmost first. This
    /// is the C++ comparator <c>score &lt; other.score || (score == other.score &amp;&amp; left &gt; other.left)</c> as
    /// one integer comparison.
    /// </summary>
    private static ulong Priority(float score, int left)
    {
        // -0 and +0 compare equal in C++, so they must map to the same key.
        var bits = (uint)BitConverter.SingleToInt32Bits(score == 0 ? 0f : score);
        var ordered = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
        return ((ulong)(uint.MaxValue - ordered) << 32) | (uint)left;
    }

    private int PieceToId(ReadOnlySpan<byte> piece)
    {
        var id = _reserved.ExactMatch(piece);
        if (id < 0)
        {
            id = _pieces.ExactMatch(piece);
        }

        return id < 0 ? _unkId : id;
    }

    /// <summary>Splits the text into characters, with user-defined symbols as frozen single symbols.</summary>
    private int Split(ReadOnlySpan<byte> text, Symbol[] symbols)
    {
        var count = 0;
        var position = 0;
        while (position < text.Length)
        {
            var rest = text[position..];
            var length = 0;
            var freeze = false;
            if (_userDefined is not null)
            {
                length = _userDefined.LongestPrefix(rest, out _);
                freeze = length > 0;
            }

            if (length == 0)
            {
                length = Math.Min(rest.Length, SentencePieceUtf8.OneCharLength(rest[0]));
            }

            var next = position + length < text.Length ? count + 1 : -1;
            symbols[count] = new Symbol
            {
                Prev = count - 1,
                Next = next,
                Start = position,
                Length = length,
                Freeze = freeze,
                Node = _pieces.Walk(SentencePieceByteTrie.Root, rest[..length]),
            };
            count++;
            position += length;
        }

        return count;
    }

    private void Merge(ReadOnlySpan<byte> text, Span<Symbol> symbols, Workspace workspace)
    {
        var queue = workspace.Queue;
        for (var i = 1; i < symbols.Length; i++)
        {
            MaybeAddPair(text, symbols, i - 1, i, workspace);
        }

        while (queue.TryDequeue(out var top, out _))
        {
            ref var left = ref symbols[top.Left];
            ref var right = ref symbols[top.Right];

            // Stale: one side was merged away, or grew since the pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != top.Size)
            {
                continue;
            }

            left.Length += right.Length;
            left.Node = top.Node;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                symbols[right.Next].Prev = top.Left;
            }

            right.Length = 0;
            MaybeAddPair(text, symbols, left.Prev, top.Left, workspace);
            MaybeAddPair(text, symbols, top.Left, left.Next, workspace);
        }
    }

    private void MaybeAddPair(ReadOnlySpan<byte> text, Span<Symbol> symbols, int leftIndex, int rightIndex, Workspace workspace)
    {
        if (leftIndex < 0 || rightIndex < 0)
        {
            return;
        }

        ref readonly var left = ref symbols[leftIndex];
        ref readonly var right = ref symbols[rightIndex];
        if (left.Freeze || right.Freeze || left.Node < 0)
        {
            return;
        }

        // The concatenation's trie node continues from the left symbol's node through the right symbol's bytes.
        var node = _pieces.Walk(left.Node, text.Slice(right.Start, right.Length));
        if (node < 0)
        {
            return;
        }

        var id = _pieces.ValueAt(node);
        if (id < 0)
        {
            return;
        }

        workspace.Queue.Enqueue(new Pair(leftIndex, rightIndex, left.Length + right.Length, node), Priority(_scores[id], leftIndex));
        if (_types[id] == SentencePiecePieceType.Unused)
        {
            // The last pair that formed this piece is how it is split back (rev_merge is keyed by the piece).
            workspace.ReverseMerges[id] = (left.Start, left.Length, right.Start, right.Length);
        }
    }

    private void Resegment(ReadOnlySpan<byte> text, int start, int length, Workspace workspace, List<int> ids, ref bool previousUnknown)
    {
        var piece = text.Slice(start, length);
        var id = PieceToId(piece);
        if (_hasUnused && _types[id] == SentencePiecePieceType.Unused && workspace.ReverseMerges.TryGetValue(id, out var split))
        {
            Resegment(text, split.LeftStart, split.LeftLength, workspace, ids, ref previousUnknown);
            Resegment(text, split.RightStart, split.RightLength, workspace, ids, ref previousUnknown);
            return;
        }

        var type = _types[id];
        var isUnknown = type == SentencePiecePieceType.Unknown;
        if (isUnknown && _byteIds is not null)
        {
            foreach (var b in piece)
            {
                ids.Add(_byteIds[b]);
            }
        }
        else if (!(isUnknown && previousUnknown))
        {
            // A run of unknown symbols is one unknown piece.
            ids.Add(id);
        }

        previousUnknown = isUnknown;
    }

    /// <summary>A symbol: its neighbours (-1 at the ends), its bytes in the text (length 0 once merged away), whether it is frozen, and its trie node (-1 if no piece starts with it).</summary>
    private struct Symbol
    {
        public int Prev;
        public int Next;
        public int Start;
        public int Length;
        public bool Freeze;
        public int Node;
    }

    /// <summary>A queued merge candidate.</summary>
    private readonly record struct Pair(int Left, int Right, int Size, int Node);

    /// <summary>Per-thread scratch: the merge queue and the reverse merges of unused pieces.</summary>
    private sealed class Workspace
    {
        public PriorityQueue<Pair, ulong> Queue { get; } = new();

        public Dictionary<int, (int LeftStart, int LeftLength, int RightStart, int RightLength)> ReverseMerges { get; } = [];
    }
}
