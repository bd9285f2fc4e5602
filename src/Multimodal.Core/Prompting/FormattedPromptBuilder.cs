// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal;

/// <summary>Builds a <see cref="FormattedPrompt"/>: the prompt text and its text and visual segments, in order.</summary>
/// <remarks>Consecutive text is merged into one segment. Not thread-safe.</remarks>
public sealed class FormattedPromptBuilder
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _pending = new();
    private readonly List<PromptSegment> _segments = [];

    /// <summary>Appends literal prompt text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>This builder.</returns>
    public FormattedPromptBuilder Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _text.Append(text);
        _pending.Append(text);
        return this;
    }

    /// <summary>Appends a visual segment.</summary>
    /// <param name="segment">The segment.</param>
    /// <param name="text">How it reads in <see cref="FormattedPrompt.Text"/> (a marker such as <c>&lt;image&gt;</c>, or the expanded placeholder tokens).</param>
    /// <returns>This builder.</returns>
    public FormattedPromptBuilder AppendVisual(VisualSegment segment, string text)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(text);
        Flush();
        _segments.Add(segment);
        _text.Append(text);
        return this;
    }

    /// <summary>Creates the prompt.</summary>
    /// <param name="stopStrings">The strings that end the assistant's turn.</param>
    /// <returns>The prompt.</returns>
    public FormattedPrompt Build(IReadOnlyList<string> stopStrings)
    {
        Flush();
        return new FormattedPrompt(_text.ToString(), [.. _segments], stopStrings);
    }

    private void Flush()
    {
        if (_pending.Length > 0)
        {
            _segments.Add(new TextSegment(_pending.ToString()));
            _pending.Clear();
        }
    }
}
