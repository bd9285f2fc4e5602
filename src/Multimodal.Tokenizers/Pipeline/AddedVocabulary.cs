// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>A token added on top of the model's vocabulary (special tokens, chat markers, image placeholders).</summary>
/// <param name="Id">The id.</param>
/// <param name="Content">The exact text.</param>
/// <param name="Special">Whether it is special (skipped by <c>skipSpecialTokens</c>).</param>
/// <param name="SingleWord">Whether it matches only as a whole word.</param>
/// <param name="LeftStrip">Whether whitespace on its left is absorbed.</param>
/// <param name="RightStrip">Whether whitespace on its right is absorbed.</param>
/// <param name="Normalized">Whether it is matched in normalized text (otherwise in the raw input).</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LeftStrip = false, bool RightStrip = false, bool Normalized = false);

/// <summary>Finds added tokens in text before the model runs: leftmost match first, longest at that position, as the reference's Aho-Corasick (LeftmostLongest).</summary>
internal sealed class AddedVocabulary
{
    private readonly TrieNode _raw = new();
    private readonly TrieNode _normalized = new();
    private readonly Dictionary<int, AddedToken> _byId = [];
    private readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);
    private readonly HashSet<int> _special = [];

    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer)
    {
        foreach (var t in tokens)
        {
            _byId[t.Id] = t;
            _byContent[t.Content] = t;
            if (t.Special)
            {
                _special.Add(t.Id);
            }

            if (t.Content.Length == 0)
            {
                continue;
            }

            if (t.Normalized)
            {
                // Normalized tokens are matched by their normalized form, in normalized text.
                var pattern = normalizer?.Normalize(t.Content) ?? t.Content;
                if (pattern.Length > 0)
                {
                    _normalized.Add(pattern, t);
                }
            }
            else
            {
                _raw.Add(t.Content, t);
            }
        }

        HasRaw = _raw.Children.Count > 0;
        HasNormalized = _normalized.Children.Count > 0;
    }

    public bool HasRaw { get; }

    public bool HasNormalized { get; }

    public IReadOnlyCollection<AddedToken> Tokens => _byId.Values;

    public int MaxId => _byId.Count == 0 ? -1 : _byId.Keys.Max();

    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);

    public AddedToken? ByContent(string content) => _byContent.GetValueOrDefault(content);

    public bool IsSpecial(int id) => _special.Contains(id);

    public IReadOnlySet<int> SpecialIds => _special;

    /// <summary>Splits text into (piece, addedTokenId or -1) parts covering it, using the raw or the normalized trie.</summary>
    public void Split(string text, bool normalizedTrie, List<(int Start, int End, int Id)> output)
    {
        var root = normalizedTrie ? _normalized : _raw;
        var startOffset = 0;
        var i = 0;
        while (i < text.Length)
        {
            // The longest token starting at i.
            var node = root;
            AddedToken? best = null;
            var bestEnd = -1;
            for (var j = i; j < text.Length && node.Children.TryGetValue(text[j], out var child); j++)
            {
                node = child;
                if (node.Token is not null)
                {
                    best = node.Token;
                    bestEnd = j + 1;
                }
            }

            if (best is null)
            {
                i++;
                continue;
            }

            var start = i;
            var stop = bestEnd;
            if (best.SingleWord)
            {
                var startOk = start == 0 || !EndsWithWord(text.AsSpan(0, start));
                var stopOk = stop == text.Length || !StartsWithWord(text.AsSpan(stop));
                if (!startOk || !stopOk)
                {
                    // Discarded; matching resumes after it, as an Aho-Corasick iterator does.
                    i = stop;
                    continue;
                }
            }

            if (best.LeftStrip)
            {
                start = Math.Max(LeftmostSpaceAtEnd(text.AsSpan(0, start)), startOffset);
            }

            if (best.RightStrip)
            {
                stop += RightmostSpaceAtStart(text.AsSpan(stop));
            }

            if (startOffset < start)
            {
                output.Add((startOffset, start, -1));
            }

            output.Add((start, stop, best.Id));
            startOffset = stop;
            i = stop;
        }

        if (startOffset < text.Length)
        {
            output.Add((startOffset, text.Length, -1));
        }
    }

    private static bool EndsWithWord(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        var n = s.Length >= 2 && char.IsSurrogatePair(s[^2], s[^1]) ? 2 : 1;
        return UnicodeClasses.IsWord(UnicodeClasses.At(s, s.Length - n).Rune);
    }

    private static bool StartsWithWord(ReadOnlySpan<char> s) => !s.IsEmpty && UnicodeClasses.IsWord(UnicodeClasses.At(s, 0).Rune);

    private static int LeftmostSpaceAtEnd(ReadOnlySpan<char> s)
    {
        var i = s.Length;
        while (i > 0)
        {
            var n = i >= 2 && char.IsSurrogatePair(s[i - 2], s[i - 1]) ? 2 : 1;
            if (!UnicodeClasses.IsWhiteSpace(UnicodeClasses.At(s, i - n).Rune))
            {
                break;
            }

            i -= n;
        }

        return i;
    }

    private static int RightmostSpaceAtStart(ReadOnlySpan<char> s) => Gpt2Scanner.Run(s, 0, UnicodeClasses.IsWhiteSpace);

    private sealed class TrieNode
    {
        public Dictionary<char, TrieNode> Children { get; } = [];

        public AddedToken? Token { get; private set; }

        public void Add(string content, AddedToken token)
        {
            var node = this;
            foreach (var c in content)
            {
                if (!node.Children.TryGetValue(c, out var next))
                {
                    next = new TrieNode();
                    node.Children[c] = next;
                }

                node = next;
            }

            node.Token ??= token;
        }
    }
}
