// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>The Unigram segmentation: the best-scoring path through the lattice of vocabulary pieces (Viterbi).</summary>
/// <remarks>
/// <para>
/// This is SentencePiece's <c>unigram::Model::EncodeOptimized</c> (the default encoder of sentencepiece 0.1.97),
/// working on UTF-8 bytes as the original does: from each character position every vocabulary piece that starts
/// there extends the best path ending at that position; a character with no single-character piece gets an unknown
/// node scored <c>min_score - 10</c>; ties keep the earlier candidate. Results go through the same post-processing as
/// <c>SentencePieceProcessor::PopulateSentencePieceText</c>: runs of unknown characters become one unknown id, or
/// their UTF-8 bytes as <c>&lt;0xXX&gt;</c> pieces when byte fallback is on.
/// </para>
/// <para>
/// Two constructors reproduce two references exactly. The one taking <see cref="float"/> scores and piece types is
/// SentencePiece: unknown, control and byte pieces are not matched against text, unused pieces are skipped,
/// user-defined pieces score <c>length_in_bytes * max_score - 0.1</c>, and scores accumulate the way the C++ code
/// does (double arithmetic, stored as float). The one taking <see cref="double"/> scores is Hugging Face
/// <c>tokenizers</c>' <c>Unigram</c> model: every vocabulary entry is matchable, scores accumulate in double,
/// <c>fuse_unk</c> is an option, and each fused unknown run is looked up in the vocabulary before falling back to
/// bytes (all bytes must exist) or the unknown id. Pass the scores as Hugging Face reads them from tokenizer.json,
/// i.e. parsed with <see cref="SerdeJsonFloat"/>: <see cref="double.Parse(string)"/> differs by one ulp on about a
/// fifth of real scores, which changes the result wherever two segmentations tie (runs of one repeated letter).
/// </para>
/// <para>Thread-safe: instances are immutable and each call rents its own scratch buffers.</para>
/// </remarks>
internal sealed class UnigramEncoder
{
    private const float UnkPenalty = 10.0f;

    // C++ FLT_MIN (the smallest positive normal float): SentencePiece starts max_score_ there, not at -FLT_MAX.
    private const float FloatMin = 1.17549435E-38f;

    private readonly SentencePieceByteTrie _trie;
    private readonly double[] _scores;
    private readonly bool[] _skip;
    private readonly int _unkId;
    private readonly double _unkScore;
    private readonly float _unkScoreSingle;
    private readonly bool _singlePrecision;
    private readonly bool _huggingFace;
    private readonly bool _fuseUnk;
    private readonly int[]? _byteIds;

    /// <summary>Initializes an encoder with SentencePiece's semantics.</summary>
    /// <param name="pieces">The vocabulary in id order: piece, score and type.</param>
    /// <param name="unkId">The id of the unknown piece.</param>
    /// <param name="byteFallback">Whether unknown characters become <c>&lt;0xXX&gt;</c> byte pieces (a missing byte piece gives the unknown id, as <c>PieceToId</c> does).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="unkId"/> is not an id of <paramref name="pieces"/>.</exception>
    public UnigramEncoder(IReadOnlyList<(string Piece, float Score, SentencePiecePieceType Type)> pieces, int unkId, bool byteFallback)
        : this(ToProtos(pieces), unkId, byteFallback)
    {
    }

    /// <summary>Initializes an encoder with Hugging Face <c>tokenizers</c>' <c>Unigram</c> semantics.</summary>
    /// <param name="vocab">The vocabulary in id order: token and score, as in tokenizer.json's <c>model.vocab</c>.</param>
    /// <param name="unkId">The <c>unk_id</c>, or null when the model has none (an unknown character then throws).</param>
    /// <param name="byteFallback">The <c>byte_fallback</c> flag.</param>
    /// <param name="fuseUnk">Whether consecutive unknown characters become one token (the model's <c>fuse_unk</c>; Hugging Face's default is true).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="unkId"/> is not an id of <paramref name="vocab"/>.</exception>
    public UnigramEncoder(IReadOnlyList<(string Token, double Score)> vocab, int? unkId, bool byteFallback, bool fuseUnk)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        if (unkId is { } unk)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(unk, nameof(unkId));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unk, vocab.Count, nameof(unkId));
        }

        _huggingFace = true;
        _fuseUnk = fuseUnk;
        _unkId = unkId ?? -1;
        _scores = new double[vocab.Count];
        _skip = new bool[vocab.Count];

        // token_to_ids keeps the last id of a duplicated token; the trie resolves matches through it.
        var ids = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        var minScore = double.PositiveInfinity;
        for (var i = 0; i < vocab.Count; i++)
        {
            ids[vocab[i].Token] = i;
            _scores[i] = vocab[i].Score;
            minScore = Math.Min(minScore, vocab[i].Score);
        }

        var entries = new List<(byte[] Key, int Value)>(ids.Count);
        foreach (var (token, id) in ids)
        {
            entries.Add((Encoding.UTF8.GetBytes(token), id));
        }

        _trie = SentencePieceByteTrie.Build(entries);
        _unkScore = minScore - UnkPenalty;
        _byteIds = byteFallback ? FindByteIds(b => ids.TryGetValue(ByteToPiece(b), out var id) ? id : -1) : null;
    }

    private UnigramEncoder(IReadOnlyList<SentencePieceProto> pieces, int unkId, bool byteFallback)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        ArgumentOutOfRangeException.ThrowIfNegative(unkId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unkId, pieces.Count);

        _singlePrecision = true;
        _fuseUnk = true;
        _unkId = unkId;
        _scores = new double[pieces.Count];
        _skip = new bool[pieces.Count];

        // min/max over normal pieces only, with C++'s FLT_MAX / FLT_MIN starting values.
        var minScore = float.MaxValue;
        var maxScore = FloatMin;
        foreach (var p in pieces)
        {
            if (p.Type == SentencePiecePieceType.Normal)
            {
                minScore = Math.Min(minScore, p.Score);
                maxScore = Math.Max(maxScore, p.Score);
            }
        }

        var entries = new List<(byte[] Key, int Value)>(pieces.Count);
        var reserved = new Dictionary<string, int>(StringComparer.Ordinal);
        var normal = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < pieces.Count; i++)
        {
            var p = pieces[i];
            switch (p.Type)
            {
                case SentencePiecePieceType.Normal:
                case SentencePiecePieceType.UserDefined:
                case SentencePiecePieceType.Unused:
                    entries.Add((p.Piece, i));
                    normal.TryAdd(Encoding.UTF8.GetString(p.Piece), i);
                    break;
                default:
                    reserved.TryAdd(Encoding.UTF8.GetString(p.Piece), i);
                    break;
            }

            _skip[i] = p.Type == SentencePiecePieceType.Unused;

            // `length * max_score_ - 0.1`: size_t * float is float, then minus a double literal.
            _scores[i] = p.Type == SentencePiecePieceType.UserDefined
                ? (double)(p.Piece.Length * maxScore) - 0.1
                : p.Score;
        }

        _trie = SentencePieceByteTrie.Build(entries);
        _unkScoreSingle = minScore - UnkPenalty;
        _unkScore = _unkScoreSingle;

        // PieceToId(ByteToPiece(b)): reserved pieces first, then normal ones, else unk.
        _byteIds = byteFallback
            ? FindByteIds(b => reserved.TryGetValue(ByteToPiece(b), out var id) || normal.TryGetValue(ByteToPiece(b), out id) ? id : unkId)
            : null;
        MinScore = minScore;
        MaxScore = maxScore;
    }

    /// <summary>Gets the minimum score of a normal piece (SentencePiece semantics; NaN for the Hugging Face constructor).</summary>
    public float MinScore { get; } = float.NaN;

    /// <summary>Gets the maximum score of a normal piece, at least <c>FLT_MIN</c> (SentencePiece semantics; NaN for the Hugging Face constructor).</summary>
    public float MaxScore { get; } = float.NaN;

    /// <summary>Segments already-normalized text and appends the ids.</summary>
    /// <param name="normalizedText">The normalized text (for SentencePiece: spaces already escaped as U+2581).</param>
    /// <param name="ids">The list that receives the ids.</param>
    /// <exception cref="InvalidOperationException">The text has a character outside the vocabulary and the model has no unknown token.</exception>
    public void Encode(string normalizedText, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(normalizedText);
        Encode(normalizedText.AsSpan(), ids);
    }

    /// <summary>Segments already-normalized text and appends the ids.</summary>
    /// <param name="normalizedText">The normalized text.</param>
    /// <param name="ids">The list that receives the ids.</param>
    /// <exception cref="InvalidOperationException">The text has a character outside the vocabulary and the model has no unknown token.</exception>
    public void Encode(ReadOnlySpan<char> normalizedText, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (normalizedText.IsEmpty)
        {
            return;
        }

        var utf8 = SentencePieceUtf8.RentUtf8(normalizedText, out var length);
        try
        {
            Encode(utf8.AsSpan(0, length), ids);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }

    /// <summary>Creates the encoder of a SentencePiece model from its parsed pieces.</summary>
    /// <param name="pieces">The pieces in id order.</param>
    /// <param name="unkId">The id of the unknown piece.</param>
    /// <param name="byteFallback">The trainer spec's <c>byte_fallback</c>.</param>
    /// <returns>The encoder.</returns>
    internal static UnigramEncoder FromModel(IReadOnlyList<SentencePieceProto> pieces, int unkId, bool byteFallback) => new(pieces, unkId, byteFallback);

    /// <summary>Segments already-normalized UTF-8 and appends the ids.</summary>
    /// <param name="normalized">The normalized text in UTF-8.</param>
    /// <param name="ids">The list that receives the ids.</param>
    internal void Encode(ReadOnlySpan<byte> normalized, List<int> ids)
    {
        var size = normalized.Length;
        if (size == 0)
        {
            return;
        }

        var best = ArrayPool<BestPath>.Shared.Rent(size + 1);
        var path = ArrayPool<int>.Shared.Rent(size + 1);
        try
        {
            var count = Viterbi(normalized, best.AsSpan(0, size + 1), path);
            if (_huggingFace)
            {
                EmitHuggingFace(normalized, best, path.AsSpan(0, count), ids);
            }
            else
            {
                EmitSentencePiece(normalized, best, path.AsSpan(0, count), ids);
            }
        }
        finally
        {
            ArrayPool<BestPath>.Shared.Return(best);
            ArrayPool<int>.Shared.Return(path);
        }
    }

    private static string ByteToPiece(int b) => $"<0x{b:X2}>";

    private static int[]? FindByteIds(Func<int, int> lookup)
    {
        var ids = new int[256];
        for (var b = 0; b < 256; b++)
        {
            ids[b] = lookup(b);
            if (ids[b] < 0)
            {
                return null;
            }
        }

        return ids;
    }

    private static SentencePieceProto[] ToProtos(IReadOnlyList<(string Piece, float Score, SentencePiecePieceType Type)> pieces)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        var protos = new SentencePieceProto[pieces.Count];
        for (var i = 0; i < protos.Length; i++)
        {
            protos[i] = new SentencePieceProto(Encoding.UTF8.GetBytes(pieces[i].Piece), pieces[i].Score, pieces[i].Type);
        }

        return protos;
    }

    /// <summary>Fills <paramref name="best"/> (indexed by end byte) and writes the end positions of the best path, last first, to <paramref name="path"/>.</summary>
    /// <returns>The number of nodes on the path.</returns>
    private int Viterbi(ReadOnlySpan<byte> text, Span<BestPath> best, int[] path)
    {
        var size = text.Length;
        best.Fill(new BestPath(0, -1, -1));
        var trie = _trie;
        var scores = _scores;
        var skip = _skip;

        var startsAt = 0;
        while (startsAt < size)
        {
            var here = best[startsAt].Score;
            var hasSingleNode = false;
            var mblen = Math.Min(SentencePieceUtf8.OneCharLength(text[startsAt]), size - startsAt);

            var node = SentencePieceByteTrie.Root;
            for (var keyPos = startsAt; keyPos < size; keyPos++)
            {
                node = trie.Next(node, text[keyPos]);
                if (node < 0)
                {
                    break;
                }

                var id = trie.ValueAt(node);
                if (id < 0 || skip[id])
                {
                    continue;
                }

                var end = keyPos + 1;
                ref var target = ref best[end];

                // SentencePiece: double arithmetic compared with the stored float, then stored as float.
                var candidate = scores[id] + here;
                if (target.StartsAt == -1 || candidate > target.Score)
                {
                    target = new BestPath(_singlePrecision ? (float)candidate : candidate, startsAt, id);
                }

                if (!hasSingleNode && end - startsAt == mblen)
                {
                    hasSingleNode = true;
                }
            }

            if (!hasSingleNode)
            {
                if (_unkId < 0)
                {
                    throw new InvalidOperationException("The text has a character that is not in the vocabulary, and the Unigram model has no unknown token.");
                }

                ref var target = ref best[startsAt + mblen];

                // SentencePiece adds the unknown score in float arithmetic.
                var candidate = _singlePrecision ? (float)(_unkScoreSingle + (float)here) : _unkScore + here;
                if (target.StartsAt == -1 || candidate > target.Score)
                {
                    target = new BestPath(candidate, startsAt, _unkId);
                }
            }

            startsAt += mblen;
        }

        var count = 0;
        for (var endsAt = size; endsAt > 0; endsAt = best[endsAt].StartsAt)
        {
            path[count++] = endsAt;
        }

        return count;
    }

    private void EmitSentencePiece(ReadOnlySpan<byte> text, BestPath[] best, ReadOnlySpan<int> path, List<int> ids)
    {
        var previousUnknown = false;
        for (var i = path.Length - 1; i >= 0; i--)
        {
            var end = path[i];
            var node = best[end];
            if (node.Id != _unkId)
            {
                ids.Add(node.Id);
                previousUnknown = false;
                continue;
            }

            if (_byteIds is not null)
            {
                foreach (var b in text[node.StartsAt..end])
                {
                    ids.Add(_byteIds[b]);
                }
            }
            else if (!previousUnknown)
            {
                // A run of unknown characters is one unknown piece.
                ids.Add(_unkId);
            }

            previousUnknown = true;
        }
    }

    private void EmitHuggingFace(ReadOnlySpan<byte> text, BestPath[] best, ReadOnlySpan<int> path, List<int> ids)
    {
        var i = path.Length - 1;
        while (i >= 0)
        {
            var end = path[i];
            var node = best[end];
            var start = node.StartsAt;
            if (node.Id == _unkId && _unkId >= 0 && _fuseUnk)
            {
                // Fuse the run of unknown nodes into one token string.
                while (i > 0 && best[path[i - 1]].Id == _unkId)
                {
                    i--;
                }

                end = path[i];
            }

            i--;
            var token = text[start..end];
            var id = _trie.ExactMatch(token);
            if (id >= 0)
            {
                ids.Add(id);
            }
            else if (_byteIds is not null)
            {
                foreach (var b in token)
                {
                    ids.Add(_byteIds[b]);
                }
            }
            else if (_unkId >= 0)
            {
                ids.Add(_unkId);
            }
            else
            {
                throw new InvalidOperationException("The text has a character that is not in the vocabulary, and the Unigram model has no unknown token.");
            }
        }
    }

    /// <summary>The best path ending at a byte position: its score, where its last piece starts (-1: none yet), and that piece's id.</summary>
    private readonly record struct BestPath(double Score, int StartsAt, int Id);
}
