// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>How a split pattern's matches become pieces (Hugging Face's <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>Helpers shared by the pre-tokenizers.</summary>
internal static class Splitting
{
    /// <summary>Splits <paramref name="piece"/> at the pattern's matches with a behaviour, appending non-empty pieces.</summary>
    public static void Split(TextPiece piece, SplitPattern pattern, SplitBehavior behavior, bool invert, List<TextPiece> output, List<(int Start, int End)> scratch)
    {
        var text = piece.Text;
        scratch.Clear();
        pattern.Matches(text, scratch);

        // (start, end, isMatch) covering the text, with the match flag flipped when inverted.
        var parts = new List<(int Start, int End, bool IsMatch)>(scratch.Count * 2 + 1);
        var at = 0;
        foreach (var (s, e) in scratch)
        {
            if (s > at)
            {
                parts.Add((at, s, invert));
            }

            parts.Add((s, e, !invert));
            at = e;
        }

        if (at < text.Length)
        {
            parts.Add((at, text.Length, invert));
        }

        void Emit(int s, int e)
        {
            if (e > s)
            {
                output.Add(new TextPiece(text[s..e], piece.StartsAtOrigin && s == 0));
            }
        }

        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var p in parts)
                {
                    if (!p.IsMatch)
                    {
                        Emit(p.Start, p.End);
                    }
                }

                break;
            case SplitBehavior.Isolated:
                foreach (var p in parts)
                {
                    Emit(p.Start, p.End);
                }

                break;
            case SplitBehavior.MergedWithPrevious:
            {
                var start = 0;
                foreach (var p in parts)
                {
                    if (p.IsMatch)
                    {
                        Emit(start, p.End);
                        start = p.End;
                    }
                }

                Emit(start, text.Length);
                break;
            }

            case SplitBehavior.MergedWithNext:
            {
                var start = 0;
                foreach (var p in parts)
                {
                    if (p.IsMatch && p.Start > start)
                    {
                        Emit(start, p.Start);
                        start = p.Start;
                    }
                }

                Emit(start, text.Length);
                break;
            }

            default:
            {
                // Contiguous: consecutive matches form one piece.
                var i = 0;
                while (i < parts.Count)
                {
                    var j = i;
                    while (j + 1 < parts.Count && parts[j + 1].IsMatch == parts[i].IsMatch)
                    {
                        j++;
                    }

                    Emit(parts[i].Start, parts[j].End);
                    i = j + 1;
                }

                break;
            }
        }
    }

    /// <summary>Applies a per-piece splitter to every piece of the list.</summary>
    public static void Apply(List<TextPiece> pieces, Action<TextPiece, List<TextPiece>> split)
    {
        var input = pieces.ToArray();
        pieces.Clear();
        foreach (var p in input)
        {
            split(p, pieces);
        }
    }
}

/// <summary>The Split pre-tokenizer: a literal or regex pattern with a behaviour, optionally inverted.</summary>
internal sealed class SplitPreTokenizer(SplitPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) => Splitting.Split(p, pattern, behavior, invert, output, scratch));
    }
}

/// <summary>GPT-2's ByteLevel pre-tokenizer: optional prefix space, optional GPT-2 split, then bytes mapped to the byte-level alphabet.</summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    private static readonly SplitPattern Pattern = SplitPattern.ForRegex(SplitPattern.Gpt2);

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) =>
        {
            if (addPrefixSpace && !p.Text.StartsWith(' '))
            {
                p = p with { Text = " " + p.Text };
            }

            if (useRegex)
            {
                var start = output.Count;
                Splitting.Split(p, Pattern, SplitBehavior.Isolated, invert: false, output, scratch);
                for (var i = start; i < output.Count; i++)
                {
                    output[i] = output[i] with { Text = ToByteLevel(output[i].Text) };
                }
            }
            else if (p.Text.Length > 0)
            {
                output.Add(p with { Text = ToByteLevel(p.Text) });
            }
        });
    }

    /// <summary>Encodes text as UTF-8 and maps every byte to its byte-level character.</summary>
    public static string ToByteLevel(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var n = Encoding.UTF8.GetBytes(text, rented);
            return string.Create(n, rented, static (dst, src) =>
            {
                var map = ByteLevelAlphabet.ByteToChar;
                for (var i = 0; i < dst.Length; i++)
                {
                    dst[i] = map[src[i]];
                }
            });
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>When Metaspace prepends its replacement character.</summary>
internal enum PrependScheme
{
    Always,
    First,
    Never,
}

/// <summary>Metaspace: spaces become the replacement character (▁), which is prepended per the scheme; optionally splits before each ▁.</summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : IPreTokenizer
{
    private readonly SplitPattern _pattern = SplitPattern.ForLiteral(replacement.ToString());

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) =>
        {
            var text = p.Text.Replace(' ', replacement);
            if (text.Length > 0 && text[0] != replacement && (scheme == PrependScheme.Always || (scheme == PrependScheme.First && p.StartsAtOrigin)))
            {
                text = replacement + text;
            }

            var piece = p with { Text = text };
            if (split)
            {
                Splitting.Split(piece, _pattern, SplitBehavior.MergedWithNext, invert: false, output, scratch);
            }
            else if (text.Length > 0)
            {
                output.Add(piece);
            }
        });
    }
}

/// <summary>Whitespace: `\w+|[^\w\s]+` are kept, whitespace is removed.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    private static readonly SplitPattern Pattern = new WordOrSymbolRuns();

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) => Splitting.Split(p, Pattern, SplitBehavior.Removed, invert: true, output, scratch));
    }

    private sealed class WordOrSymbolRuns : SplitPattern
    {
        public override void Matches(string text, List<(int Start, int End)> matches)
        {
            var s = text.AsSpan();
            var i = 0;
            while (i < s.Length)
            {
                var (r, n) = UnicodeClasses.At(s, i);
                if (UnicodeClasses.IsWord(r))
                {
                    var end = Gpt2Scanner.Run(s, i, UnicodeClasses.IsWord);
                    matches.Add((i, end));
                    i = end;
                }
                else if (!UnicodeClasses.IsWhiteSpace(r))
                {
                    var end = Gpt2Scanner.Run(s, i, static x => !UnicodeClasses.IsWord(x) && !UnicodeClasses.IsWhiteSpace(x));
                    matches.Add((i, end));
                    i = end;
                }
                else
                {
                    i += n;
                }
            }
        }
    }
}

/// <summary>WhitespaceSplit: splits on whitespace, which is removed.</summary>
internal sealed class WhitespaceSplitPreTokenizer : IPreTokenizer
{
    private static readonly SplitPattern Pattern = SplitPattern.ForCharacters(UnicodeClasses.IsWhiteSpace);

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) => Splitting.Split(p, Pattern, SplitBehavior.Removed, invert: false, output, scratch));
    }
}

/// <summary>Digits: numbers isolated, either one per digit or contiguous runs.</summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : IPreTokenizer
{
    private static readonly SplitPattern Pattern = SplitPattern.ForCharacters(UnicodeClasses.IsNumber);

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        var behavior = individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous;
        Splitting.Apply(pieces, (p, output) => Splitting.Split(p, Pattern, behavior, invert: false, output, scratch));
    }
}

/// <summary>Punctuation: punctuation characters split with a behaviour (isolated by default).</summary>
internal sealed class PunctuationPreTokenizer(SplitBehavior behavior) : IPreTokenizer
{
    private static readonly SplitPattern Pattern = SplitPattern.ForCharacters(UnicodeClasses.IsPunctuation);

    public void PreTokenize(List<TextPiece> pieces)
    {
        var scratch = new List<(int, int)>();
        Splitting.Apply(pieces, (p, output) => Splitting.Split(p, Pattern, behavior, invert: false, output, scratch));
    }
}

/// <summary>Applies pre-tokenizers in order.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> preTokenizers) : IPreTokenizer
{
    public void PreTokenize(List<TextPiece> pieces)
    {
        foreach (var p in preTokenizers)
        {
            p.PreTokenize(pieces);
        }
    }
}
