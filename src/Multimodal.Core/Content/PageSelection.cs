// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;

namespace Multimodal;

/// <summary>A set of 1-based PDF page numbers, written like <c>1-9</c>, <c>2,4,10-12</c> or <c>5-</c>.</summary>
public sealed class PageSelection
{
    private readonly (int First, int Last)[] _ranges;

    private PageSelection((int First, int Last)[] ranges, string text)
    {
        _ranges = ranges;
        Text = text;
    }

    /// <summary>Gets the selection of every page.</summary>
    public static PageSelection All { get; } = new([(1, int.MaxValue)], "all");

    /// <summary>Gets the text the selection was parsed from.</summary>
    public string Text { get; }

    /// <summary>Parses a selection such as <c>1-9</c>, <c>3</c>, <c>2,4,10-12</c>, <c>5-</c> (to the end) or <c>all</c>.</summary>
    /// <param name="text">The selection text.</param>
    /// <returns>The selection.</returns>
    /// <exception cref="FormatException">The text is not a valid selection; the message names the bad part.</exception>
    public static PageSelection Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return All;
        }

        var ranges = new List<(int, int)>();
        foreach (var rawPart in text.Split(','))
        {
            var part = rawPart.Trim();
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            int first, last;
            if (dash < 0)
            {
                first = last = ParsePage(part, text);
            }
            else
            {
                first = ParsePage(part[..dash].Trim(), text);
                var tail = part[(dash + 1)..].Trim();
                last = tail.Length == 0 ? int.MaxValue : ParsePage(tail, text);
                if (last < first)
                {
                    throw new FormatException($"Page range '{part}' in '{text}' ends before it starts.");
                }
            }

            ranges.Add((first, last));
        }

        return new PageSelection([.. ranges], text);
    }

    /// <summary>Lists the selected pages of a document in ascending order, without duplicates.</summary>
    /// <param name="pageCount">The document's number of pages.</param>
    /// <returns>The 1-based page numbers that exist in the document.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A selected page is past the end of the document.</exception>
    public IReadOnlyList<int> Resolve(int pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        var pages = new SortedSet<int>();
        foreach (var (first, last) in _ranges)
        {
            if (first > pageCount)
            {
                throw new ArgumentOutOfRangeException(nameof(pageCount), $"Page {first} was selected ('{Text}') but the document has {pageCount} pages.");
            }

            for (var p = first; p <= Math.Min(last, pageCount); p++)
            {
                pages.Add(p);
            }
        }

        return [.. pages];
    }

    /// <inheritdoc />
    public override string ToString() => Text;

    private static int ParsePage(string s, string whole)
    {
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var page) || page < 1)
        {
            throw new FormatException($"'{s}' in page selection '{whole}' is not a page number (pages start at 1).");
        }

        return page;
    }
}
