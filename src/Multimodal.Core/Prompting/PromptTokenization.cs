// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Tokenization rules the family templates share: LLaVA-style chunks joined by a sentinel, and prompts that spell their visual positions as placeholder tokens (MiniCPM-V's <c>&lt;unk&gt;</c> runs, Aria's <c>&lt;|img|&gt;</c> runs).</summary>
public static class PromptTokenization
{
    /// <summary>LLaVA's image sentinel (<c>IMAGE_TOKEN_INDEX</c>).</summary>
    public const int LlavaSentinel = -200;

    /// <summary>LLaVA's <c>tokenizer_image_token</c>: tokenizes a prompt chunk by chunk, the text between visual segments being
    /// one chunk, and puts each visual segment's token run where its marker was. Every chunk is tokenized with special
    /// tokens; if the first chunk starts with BOS that one BOS is kept and the first token of every chunk is dropped.</summary>
    /// <param name="prompt">The formatted prompt; consecutive text segments form one chunk, each visual segment is one marker.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="placeholderId">The id written at visual positions (LLaVA: <see cref="LlavaSentinel"/>).</param>
    /// <returns>The ids with every visual position holding <paramref name="placeholderId"/>, and the spans.</returns>
    public static PromptTokens TokenizeChunks(FormattedPrompt prompt, ITokenizer tokenizer, int placeholderId = LlavaSentinel)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var chunks = new List<string>();
        var visuals = new List<VisualSegment>();
        var text = new System.Text.StringBuilder();
        foreach (var segment in prompt.Segments)
        {
            switch (segment)
            {
                case TextSegment t:
                    text.Append(t.Text);
                    break;
                case VisualSegment v:
                    chunks.Add(text.ToString());
                    text.Clear();
                    visuals.Add(v);
                    break;
            }
        }

        chunks.Add(text.ToString());
        var ids = new List<int>();
        var spans = new List<VisualSpan>();
        var bos = tokenizer.SpecialTokens.BosTokenId;
        var drop = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            if (i > 0)
            {
                var v = visuals[i - 1];
                spans.Add(new VisualSpan(ids.Count, v));
                ids.AddRange(Enumerable.Repeat(placeholderId, v.TokenCount));
            }

            var chunk = tokenizer.Encode(chunks[i], addSpecialTokens: true);
            if (i == 0 && chunk.Length > 0 && bos is { } b && chunk[0] == b)
            {
                drop = 1;
                ids.Add(b);
            }

            // As the reference does, the first token of every chunk is dropped once the first chunk began with BOS.
            ids.AddRange(chunk.AsSpan(Math.Min(drop, chunk.Length)));
        }

        return new PromptTokens([.. ids], spans, placeholderId);
    }

    /// <summary>Tokenizes a whole prompt whose text spells every visual position as a placeholder token, and maps the placeholder runs to the visual segments in order.</summary>
    /// <param name="prompt">The formatted prompt; its <see cref="FormattedPrompt.Text"/> is tokenized as one string.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="placeholderId">The placeholder token's id.</param>
    /// <param name="addSpecialTokens">Whether the tokenizer adds its special tokens (BOS).</param>
    /// <returns>The ids and the spans.</returns>
    /// <exception cref="UnsupportedRequestException">The placeholder runs do not match the visual segments (for example the user's text contains the placeholder token).</exception>
    public static PromptTokens TokenizeWithPlaceholderRuns(FormattedPrompt prompt, ITokenizer tokenizer, int placeholderId, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = tokenizer.Encode(prompt.Text, addSpecialTokens);
        var visuals = prompt.Segments.OfType<VisualSegment>().ToList();
        var spans = new List<VisualSpan>();
        var next = 0;
        for (var i = 0; i < ids.Length;)
        {
            if (ids[i] != placeholderId)
            {
                i++;
                continue;
            }

            var end = i;
            while (end < ids.Length && ids[end] == placeholderId)
            {
                end++;
            }

            // One run may hold several consecutive segments (for example every crop of one image).
            var offset = i;
            while (offset < end)
            {
                if (next >= visuals.Count || offset + visuals[next].TokenCount > end)
                {
                    throw new UnsupportedRequestException(
                        $"The prompt's placeholder tokens (id {placeholderId}) do not line up with its {visuals.Count} visual segments. Remove placeholder or image-marker text from the messages.",
                        "messages");
                }

                spans.Add(new VisualSpan(offset, visuals[next]));
                offset += visuals[next].TokenCount;
                next++;
            }

            i = end;
        }

        if (next != visuals.Count)
        {
            throw new UnsupportedRequestException($"The prompt has {visuals.Count} visual segments but only {next} placeholder runs were found after tokenization.", "messages");
        }

        return new PromptTokens(ids, spans, placeholderId);
    }

    /// <summary>Takes an optional leading system message off a conversation and checks that the rest alternates user and assistant messages, starting with the user, with media only in user messages (the shape every chat template here expects).</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="family">The family's display name, for the messages of the exceptions.</param>
    /// <returns>The system message's text (or <see langword="null"/>) and the other messages.</returns>
    /// <exception cref="UnsupportedRequestException">The roles do not alternate, or a system or assistant message carries media.</exception>
    public static (string? System, IReadOnlyList<PromptMessage> Messages) SplitSystemAndAlternation(PromptConversation conversation, string family)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        var messages = conversation.Messages;
        string? system = null;
        if (messages.Count > 0 && messages[0].Role == Microsoft.Extensions.AI.ChatRole.System)
        {
            if (messages[0].Parts.Any(p => p is PromptVisualPart))
            {
                throw new UnsupportedRequestException($"{family}'s system message cannot carry images, pages or videos; put them in a user message.", "messages");
            }

            system = messages[0].Text;
            messages = [.. messages.Skip(1)];
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var expected = i % 2 == 0 ? Microsoft.Extensions.AI.ChatRole.User : Microsoft.Extensions.AI.ChatRole.Assistant;
            if (messages[i].Role != expected)
            {
                throw new UnsupportedRequestException(
                    $"Message {i + 1} (after the optional system message) has role '{messages[i].Role}', but {family}'s conversations alternate user and assistant messages, starting with the user; only the first message may be a system message.",
                    "messages");
            }

            if (expected == Microsoft.Extensions.AI.ChatRole.Assistant && messages[i].Parts.Any(p => p is PromptVisualPart))
            {
                throw new UnsupportedRequestException($"{family}'s assistant messages cannot carry images, pages or videos; put them in a user message.", "messages");
            }
        }

        return (system, messages);
    }

    /// <summary>Throws when user text contains a marker the template itself uses for images (the reference would mistake it for an image).</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="markers">The marker strings.</param>
    /// <exception cref="UnsupportedRequestException">A text part contains a marker.</exception>
    public static void RejectMarkersInText(PromptConversation conversation, params string[] markers)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(markers);
        foreach (var message in conversation.Messages)
        {
            foreach (var part in message.Parts.OfType<PromptTextPart>())
            {
                foreach (var marker in markers)
                {
                    if (part.Text.Contains(marker, StringComparison.Ordinal))
                    {
                        throw new UnsupportedRequestException($"Message text contains '{marker}', which this model's prompt format reserves for images. Send images as image content and remove the marker from the text.", "messages");
                    }
                }
            }
        }
    }
}
