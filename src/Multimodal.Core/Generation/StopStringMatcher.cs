// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Advanced;

/// <summary>Holds back streamed text until it can no longer turn out to be part of a stop string.</summary>
/// <remarks>
/// Text is released only when no suffix of the unreleased text is a prefix of a stop string. So a stop string
/// that arrives split over several tokens is never partly emitted, and everything before it is. Not thread-safe.
/// </remarks>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private string _pending = string.Empty;

    /// <summary>Initializes a matcher.</summary>
    /// <param name="stopStrings">The stop strings; empty strings are ignored.</param>
    public StopStringMatcher(IEnumerable<string> stopStrings)
    {
        ArgumentNullException.ThrowIfNull(stopStrings);
        _stops = [.. stopStrings.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Gets whether a stop string has been seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Gets the stop string that matched, if any.</summary>
    public string? MatchedStopString { get; private set; }

    /// <summary>Adds newly decoded text and returns what can be released.</summary>
    /// <param name="text">The new text.</param>
    /// <returns>Text that is safe to emit (possibly empty). After a match, the text before the stop string and nothing more.</returns>
    public string Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Stopped)
        {
            return string.Empty;
        }

        if (_stops.Length == 0)
        {
            return text;
        }

        _pending += text;

        // Earliest match wins; a previous call released nothing that could begin a stop string, so a match lies wholly in _pending.
        var first = -1;
        foreach (var stop in _stops)
        {
            var at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
                MatchedStopString = stop;
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            var released = _pending[..first];
            _pending = string.Empty;
            return released;
        }

        var hold = LongestSuffixThatStartsAStop(_pending);
        var safe = _pending[..(_pending.Length - hold)];
        _pending = _pending[(_pending.Length - hold)..];
        return safe;
    }

    /// <summary>Releases the held-back text at the end of generation (it did not complete a stop string).</summary>
    /// <returns>The remaining text.</returns>
    public string Flush()
    {
        var rest = Stopped ? string.Empty : _pending;
        _pending = string.Empty;
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        var best = 0;
        foreach (var stop in _stops)
        {
            for (var len = Math.Min(stop.Length - 1, text.Length); len > best; len--)
            {
                if (text.AsSpan(text.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    best = len;
                    break;
                }
            }
        }

        return best;
    }
}
