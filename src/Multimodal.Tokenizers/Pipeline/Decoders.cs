// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>ByteLevel: maps byte-level characters back to bytes and decodes UTF-8 (invalid sequences become U+FFFD).</summary>
internal sealed class ByteLevelDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            var start = bytes.Count;
            var mapped = true;
            foreach (var c in token)
            {
                var b = ByteLevelAlphabet.ByteOf(c);
                if (b < 0)
                {
                    mapped = false;
                    break;
                }

                bytes.Add((byte)b);
            }

            if (!mapped)
            {
                // A token outside the alphabet (an added token, say) contributes its own UTF-8 bytes.
                bytes.RemoveRange(start, bytes.Count - start);
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }

        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

/// <summary>ByteFallback: runs of &lt;0xXX&gt; tokens become their UTF-8 text, or one U+FFFD per byte when invalid.</summary>
internal sealed class ByteFallbackDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }

            var bytes = pending.ToArray();
            if (IsValidUtf8(bytes))
            {
                result.Add(Encoding.UTF8.GetString(bytes));
            }
            else
            {
                for (var i = 0; i < bytes.Length; i++)
                {
                    result.Add("\uFFFD");
                }
            }

            pending.Clear();
        }

        foreach (var token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
            {
                pending.Add(b);
            }
            else
            {
                Flush();
                result.Add(token);
            }
        }

        Flush();
        return result;
    }

    private static bool IsValidUtf8(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}

/// <summary>Fuse: all tokens into one string.</summary>
internal sealed class FuseDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Strip: removes up to <c>start</c> leading and <c>stop</c> trailing occurrences of a character from each token.</summary>
internal sealed class StripDecoder(string content, int start, int stop) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        for (var t = 0; t < tokens.Count; t++)
        {
            var runes = tokens[t].EnumerateRunes().ToArray();
            var target = content.EnumerateRunes().FirstOrDefault();
            var startCut = 0;
            for (var i = 0; i < Math.Min(start, runes.Length) && runes[i] == target; i++)
            {
                startCut = i + 1;
            }

            var stopCut = runes.Length;
            for (var i = 0; i < stop && runes.Length - i - 1 >= 0 && runes[runes.Length - i - 1] == target; i++)
            {
                stopCut = runes.Length - i - 1;
            }

            var sb = new StringBuilder();
            for (var i = startCut; i < Math.Max(startCut, stopCut); i++)
            {
                sb.Append(runes[i].ToString());
            }

            tokens[t] = sb.ToString();
        }

        return tokens;
    }
}

/// <summary>Metaspace: ▁ becomes a space; in the first token it is dropped unless the prepend scheme is "never".</summary>
internal sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var dropInFirst = i == 0 && scheme != PrependScheme.Never;
            tokens[i] = dropInFirst ? tokens[i].Replace(replacement.ToString(), string.Empty, StringComparison.Ordinal) : tokens[i].Replace(replacement, ' ');
        }

        return tokens;
    }
}

/// <summary>WordPiece: joins tokens with spaces, gluing "##" continuations, with optional clean-up.</summary>
internal sealed class WordPieceDecoder(string prefix, bool cleanup) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (i != 0)
            {
                t = t.StartsWith(prefix, StringComparison.Ordinal) ? t[prefix.Length..] : " " + t;
            }

            tokens[i] = cleanup ? CleanUp.Apply(t) : t;
        }

        return tokens;
    }
}

/// <summary>BPEDecoder: the end-of-word suffix becomes a space (none after the last token).</summary>
internal sealed class BpeSuffixDecoder(string suffix) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            tokens[i] = tokens[i].Replace(suffix, i == tokens.Count - 1 ? string.Empty : " ", StringComparison.Ordinal);
        }

        return tokens;
    }
}

/// <summary>Applies decoders in order.</summary>
internal sealed class SequenceDecoder(IReadOnlyList<ITokenDecoder> decoders) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var d in decoders)
        {
            tokens = d.DecodeChain(tokens);
        }

        return tokens;
    }
}

/// <summary>transformers' <c>clean_up_tokenization</c>: removes spaces before punctuation and English contractions.</summary>
internal static class CleanUp
{
    public static string Apply(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);
}
