// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.Concurrent;

namespace Multimodal.Tokenizers;

/// <summary>Byte-pair encoding with ranked merges, as Hugging Face's <c>BPE</c> model.</summary>
/// <remarks>
/// A word starts as one symbol per character (with the continuing-subword prefix and end-of-word suffix where
/// configured; unknown characters become byte tokens when <c>byte_fallback</c> is on, else the unknown token, fused
/// when <c>fuse_unk</c> is on). Then the lowest-ranked merge applies repeatedly, leftmost first, driven by a priority
/// queue exactly like the reference's <c>Word::merge_all</c>. Results of words up to 256 characters are cached.
/// Thread-safe.
/// </remarks>
internal sealed class BpeModel : ITokenizerModel
{
    private const int CacheCapacity = 10_000;
    private const int MaxCachedLength = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabLookup;
    private readonly string[] _idToToken;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly string? _prefix;
    private readonly string? _suffix;
    private readonly int? _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteTokens;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? unkToken, string? continuingSubwordPrefix, string? endOfWordSuffix, bool fuseUnk, bool byteFallback, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _vocabLookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        VocabularySize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        _idToToken = new string[VocabularySize];
        foreach (var (token, id) in vocab)
        {
            if (id < 0)
            {
                throw new ModelLoadException($"'{source}': vocabulary entry '{token}' has a negative id ({id}).", source);
            }

            _idToToken[id] = token;
        }

        _prefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        _suffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        if (unkToken is not null)
        {
            _unkId = vocab.TryGetValue(unkToken, out var u) ? u
                : throw new ModelLoadException($"'{source}': the unknown token '{unkToken}' is not in the vocabulary.", source);
        }

        _byteTokens = new int[256];
        for (var b = 0; b < 256; b++)
        {
            _byteTokens[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
        }

        // Duplicate pairs keep the later rank, as the reference's HashMap collect does.
        var prefixLength = _prefix?.Length ?? 0;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            var aId = vocab.TryGetValue(a, out var x) ? x : throw MergeError(source, rank, a, b, a);
            var bId = vocab.TryGetValue(b, out var y) ? y : throw MergeError(source, rank, a, b, b);
            var merged = a + (b.Length >= prefixLength ? b[prefixLength..] : b);
            var newId = vocab.TryGetValue(merged, out var z) ? z : throw MergeError(source, rank, a, b, merged);
            _merges[Key(aId, bId)] = (rank, newId);
        }
    }

    public int VocabularySize { get; }

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    public void Encode(string word, List<int> ids) => Encode(word.AsSpan(), ids);

    /// <summary>Appends the ids of one word.</summary>
    public void Encode(ReadOnlySpan<char> word, List<int> ids)
    {
        if (word.IsEmpty)
        {
            return;
        }

        if (_ignoreMerges && _vocabLookup.TryGetValue(word, out var whole))
        {
            ids.Add(whole);
            return;
        }

        if (_cacheLookup.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }

        var result = MergeWord(word);
        if (word.Length < MaxCachedLength)
        {
            if (_cache.Count >= CacheCapacity)
            {
                _cache.Clear();
            }

            _cacheLookup.TryAdd(word, result);
        }

        ids.AddRange(result);
    }

    private int[] MergeWord(ReadOnlySpan<char> word)
    {
        var symbols = new List<Symbol>(word.Length);
        int unkId = -1, unkLength = 0;
        char[]? buffer = null;
        for (var i = 0; i < word.Length;)
        {
            var n = i + 1 < word.Length && char.IsSurrogatePair(word[i], word[i + 1]) ? 2 : 1;
            var isFirst = i == 0;
            var isLast = i + n == word.Length;
            var ch = word.Slice(i, n);

            // The symbol's string: [prefix]char[suffix]; the common case needs no allocation.
            ReadOnlySpan<char> s = ch;
            if ((!isFirst && _prefix is not null) || (isLast && _suffix is not null))
            {
                var p = !isFirst && _prefix is not null ? _prefix : string.Empty;
                var q = isLast && _suffix is not null ? _suffix : string.Empty;
                var total = p.Length + n + q.Length;
                if (buffer is null || total > buffer.Length)
                {
                    buffer = new char[Math.Max(64, total)];
                }

                var target = buffer.AsSpan(0, total);
                p.CopyTo(target);
                ch.CopyTo(target[p.Length..]);
                q.CopyTo(target[(p.Length + n)..]);
                s = target;
            }

            if (_vocabLookup.TryGetValue(s, out var id))
            {
                if (unkId >= 0)
                {
                    symbols.Add(new Symbol(unkId, unkLength));
                    unkId = -1;
                }

                symbols.Add(new Symbol(id, n));
            }
            else
            {
                if (_byteFallback && TryAddBytes(s, symbols))
                {
                    i += n;
                    continue;
                }

                if (_unkId is { } unk)
                {
                    if (unkId >= 0 && _fuseUnk)
                    {
                        unkLength += n;
                    }
                    else
                    {
                        if (unkId >= 0)
                        {
                            symbols.Add(new Symbol(unkId, unkLength));
                        }

                        unkId = unk;
                        unkLength = n;
                    }
                }
            }

            i += n;
        }

        if (unkId >= 0)
        {
            symbols.Add(new Symbol(unkId, unkLength));
        }

        MergeAll(symbols);
        var result = new List<int>(symbols.Count);
        foreach (var sym in symbols)
        {
            if (sym.Length != 0)
            {
                result.Add(sym.Id);
            }
        }

        return [.. result];
    }

    private bool TryAddBytes(ReadOnlySpan<char> s, List<Symbol> symbols)
    {
        Span<byte> bytes = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(s.Length)];
        var count = System.Text.Encoding.UTF8.GetBytes(s, bytes);
        foreach (var b in bytes[..count])
        {
            if (_byteTokens[b] < 0)
            {
                return false;
            }
        }

        foreach (var b in bytes[..count])
        {
            symbols.Add(new Symbol(_byteTokens[b], 1));
        }

        return true;
    }

    private void MergeAll(List<Symbol> symbols)
    {
        var n = symbols.Count;
        if (n < 2)
        {
            return;
        }

        var syms = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        for (var i = 0; i < n; i++)
        {
            syms[i].Prev = i - 1;
            syms[i].Next = i + 1 < n ? i + 1 : -1;
        }

        // Min-heap on (rank, position), as the reference's BinaryHeap with its reversed ordering.
        var queue = new PriorityQueue<(int Pos, int NewId), long>(n);
        for (var i = 0; i + 1 < n; i++)
        {
            if (_merges.TryGetValue(Key(syms[i].Id, syms[i + 1].Id), out var m))
            {
                queue.Enqueue((i, m.NewId), Priority(m.Rank, i));
            }
        }

        while (queue.TryDequeue(out var top, out _))
        {
            ref var current = ref syms[top.Pos];
            if (current.Length == 0 || current.Next == -1)
            {
                continue;
            }

            var nextPos = current.Next;
            var right = syms[nextPos];

            // Skip entries that no longer describe the pair at this position.
            if (!_merges.TryGetValue(Key(current.Id, right.Id), out var check) || check.NewId != top.NewId)
            {
                continue;
            }

            current.Id = top.NewId;
            current.Length += right.Length;
            current.Next = right.Next;
            syms[nextPos].Length = 0;
            if (right.Next >= 0 && right.Next < n)
            {
                syms[right.Next].Prev = top.Pos;
            }

            if (current.Prev >= 0 && _merges.TryGetValue(Key(syms[current.Prev].Id, current.Id), out var left))
            {
                queue.Enqueue((current.Prev, left.NewId), Priority(left.Rank, current.Prev));
            }

            if (current.Next >= 0 && current.Next < n && _merges.TryGetValue(Key(current.Id, syms[current.Next].Id), out var after))
            {
                queue.Enqueue((top.Pos, after.NewId), Priority(after.Rank, top.Pos));
            }
        }
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private static long Priority(int rank, int pos) => ((long)rank << 32) | (uint)pos;

    private static ModelLoadException MergeError(string source, int rank, string a, string b, string missing) =>
        new($"'{source}': merge #{rank} ('{a}' + '{b}') refers to '{missing}', which is not in the vocabulary.", source);

    private struct Symbol(int id, int length)
    {
        public int Id = id;
        public int Length = length;
        public int Prev;
        public int Next;
    }
}

/// <summary>A word-to-id lookup with an unknown token, as Hugging Face's <c>WordLevel</c> model.</summary>
internal sealed class WordLevelModel : ITokenizerModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _idToToken;
    private readonly int? _unkId;
    private readonly string? _unkToken;

    public WordLevelModel(Dictionary<string, int> vocab, string? unkToken)
    {
        _vocab = vocab;
        _unkToken = unkToken;
        _unkId = unkToken is not null && vocab.TryGetValue(unkToken, out var u) ? u : null;
        VocabularySize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        _idToToken = new string[VocabularySize];
        foreach (var (t, id) in vocab)
        {
            _idToToken[id] = t;
        }
    }

    public int VocabularySize { get; }

    public void Encode(string word, List<int> ids)
    {
        if (_vocab.TryGetValue(word, out var id))
        {
            ids.Add(id);
        }
        else if (_unkId is { } unk)
        {
            ids.Add(unk);
        }
        else
        {
            throw new ArgumentException($"The word '{word}' is not in the WordLevel vocabulary and the unknown token '{_unkToken}' is missing from it.", nameof(word));
        }
    }

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;
}
