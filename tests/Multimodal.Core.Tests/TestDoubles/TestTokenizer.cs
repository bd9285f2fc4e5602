// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.TestDoubles;

/// <summary>
/// A byte-level tokenizer for tests: ids 0–255 are raw bytes, 256 = &lt;s&gt; (BOS), 257 = &lt;/s&gt; (EOS),
/// and ids from 258 are multi-byte pieces given to the constructor. Encoding takes the longest piece at each position.
/// </summary>
public sealed class TestTokenizer : ITokenizer
{
    public const int Bos = 256;
    public const int Eos = 257;
    private readonly List<byte[]> _pieces = [];
    private readonly Dictionary<string, int> _lookup = new(StringComparer.Ordinal);

    public TestTokenizer(params string[] pieces)
    {
        for (var b = 0; b < 256; b++)
        {
            _pieces.Add([(byte)b]);
        }

        _pieces.Add("<s>"u8.ToArray());
        _pieces.Add("</s>"u8.ToArray());
        _lookup["<s>"] = Bos;
        _lookup["</s>"] = Eos;
        foreach (var p in pieces)
        {
            _lookup[p] = _pieces.Count;
            _pieces.Add(Encoding.UTF8.GetBytes(p));
        }
    }

    public int VocabularySize => _pieces.Count;

    public SpecialTokens SpecialTokens { get; } = new(Bos, [Eos]);

    public int Id(string piece) => _lookup[piece];

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        if (addSpecialTokens)
        {
            ids.Add(Bos);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var i = 0;
        while (i < bytes.Length)
        {
            int best = bytes[i];
            var bestLength = 1;
            for (var id = 258; id < _pieces.Count; id++)
            {
                var p = _pieces[id];
                if (p.Length > bestLength && bytes.AsSpan(i).StartsWith(p))
                {
                    best = id;
                    bestLength = p.Length;
                }
            }

            ids.Add(best);
            i += bestLength;
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _pieces.Count);
            if (skipSpecialTokens && SpecialTokens.AllSpecialIds.Contains(id))
            {
                continue;
            }

            bytes.AddRange(_pieces[id]);
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    public int? TokenToId(string token) => _lookup.TryGetValue(token, out var id) ? id : token.Length == 1 && token[0] < 128 ? token[0] : null;

    public string? IdToToken(int id) => id >= 0 && id < _pieces.Count ? Encoding.UTF8.GetString(_pieces[id]) : null;
}
