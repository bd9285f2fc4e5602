// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal.Models.AuroraCap;

/// <summary>AuroraCap's prompt: xtuner's vicuna INSTRUCTION template <c>USER: {input} ASSISTANT:</c> with no system prompt, one <c>&lt;image&gt;</c> per image and one per video frame.</summary>
/// <remarks>
/// <para>Rendering follows rese1f/aurora <c>inference.py</c> and <c>src/xtuner/xtuner/utils/templates.py</c>
/// (<c>vicuna</c>): every user turn is <c>USER: {message} ASSISTANT:</c>, and turns after the first start with
/// xtuner's separator <c>\n</c>; an answer is <c>" " + text</c> followed by the end-of-sequence token, written
/// <c>&lt;/s&gt;</c> in <see cref="FormattedPrompt.Text"/>. The assistant cue belongs to the instruction itself, so a
/// user turn always ends with it and <see cref="PromptConversation.AddGenerationPrompt"/> changes nothing. The
/// reference uses no system prompt at inference, so a system message is refused.</para>
/// <para>An image (or PDF page) is <c>&lt;image&gt;\n</c>. A video is one <c>&lt;image&gt;</c> per frame joined by
/// single spaces, then <c>\n</c>; each frame is its own segment, because the reference splices frame i's tokens at
/// the i-th sentinel.</para>
/// <para>Tokenization is <c>process_text</c>, applied piece by piece as the reference builds the ids: each text segment
/// of the formatted prompt (a user turn's text between its markers, the inter-frame spaces, an answer) is tokenized
/// on its own, the very first one with special tokens (the Llama BOS) and every later one without; the end of an
/// answer is the tokenizer's EOS id, not encoded text; and each marker becomes the −200 sentinel, which the visual
/// tokens replace.</para>
/// <para>Thread-safety: stateless; use <see cref="Instance"/>.</para>
/// <code>
/// var prompt = AuroraCapPromptTemplate.Instance.Format(conversation);
/// // USER: &lt;image&gt; &lt;image&gt; &lt;image&gt;\nDescribe the video. ASSISTANT:
/// var tokens = AuroraCapPromptTemplate.Instance.Tokenize(prompt, tokenizer);
/// </code>
/// </remarks>
public sealed class AuroraCapPromptTemplate : IPromptTemplate
{
    /// <summary>The end-of-sequence token that closes an answer and stops generation (Llama's <c>&lt;/s&gt;</c>).</summary>
    public const string EndOfSequence = "</s>";

    private const string ImageMarker = "<image>";

    private AuroraCapPromptTemplate()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static AuroraCapPromptTemplate Instance { get; } = new();

    /// <inheritdoc />
    /// <remarks>The result's text segments are the reference's tokenization pieces and are not merged: <see cref="Tokenize"/>
    /// tokenizes each one separately, and a segment that is exactly <see cref="EndOfSequence"/> stands for the EOS id
    /// (no other segment can be: user pieces carry <c>USER: </c>, <c>\n</c> or a space, answers start with a space).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="conversation"/> is <see langword="null"/>.</exception>
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        PromptTokenization.RejectMarkersInText(conversation, ImageMarker);
        var messages = conversation.Messages;
        Validate(messages);

        var b = new PieceBuilder();
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == ChatRole.User)
            {
                // xtuner's SEP ("\n") opens every turn after the first.
                b.Text(i == 0 ? "USER: " : "\nUSER: ");
                AppendUserContent(b, message);
                b.Text(" ASSISTANT:");
            }
            else
            {
                b.EndPiece();
                b.Text(" " + message.Text);
                b.EndPiece();
                b.Text(EndOfSequence);
                b.EndPiece();
            }
        }

        return b.Build([EndOfSequence]);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> or <paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The prompt closes an answer but the tokenizer has no <c>&lt;/s&gt;</c> or EOS token.</exception>
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        var spans = new List<VisualSpan>();
        var first = true;
        foreach (var segment in prompt.Segments)
        {
            switch (segment)
            {
                case TextSegment { Text: EndOfSequence }:
                    ids.Add(EndOfSequenceId(tokenizer));
                    break;
                case TextSegment text:
                    // process_text: chunk 0 with special tokens (even when empty), later chunks without, empty ones skipped.
                    if (first || text.Text.Length > 0)
                    {
                        ids.AddRange(tokenizer.Encode(text.Text, addSpecialTokens: first));
                    }

                    first = false;
                    break;
                case VisualSegment visual:
                    if (first)
                    {
                        ids.AddRange(tokenizer.Encode(string.Empty, addSpecialTokens: true));
                        first = false;
                    }

                    spans.Add(new VisualSpan(ids.Count, visual));
                    ids.AddRange(Enumerable.Repeat(PromptTokenization.LlavaSentinel, visual.TokenCount));
                    break;
            }
        }

        return new PromptTokens([.. ids], spans, PromptTokenization.LlavaSentinel);
    }

    /// <summary>The reference appends <c>tokenizer.eos_token_id</c>; the vocabulary's <c>&lt;/s&gt;</c> is that token in every Llama tokenizer.</summary>
    private static int EndOfSequenceId(ITokenizer tokenizer) =>
        tokenizer.TokenToId(EndOfSequence)
        ?? (tokenizer.SpecialTokens.EosTokenIds.Count > 0 ? tokenizer.SpecialTokens.EosTokenIds[0] : (int?)null)
        ?? throw new InvalidOperationException("AuroraCap's prompt closes each answer with </s>, but the tokenizer has neither a </s> token nor an EOS id.");

    /// <summary>Checks that the conversation is user, assistant, … from a user, with no system message and no visual input outside user messages.</summary>
    private static void Validate(IReadOnlyList<PromptMessage> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i].Role;
            if (role == ChatRole.System)
            {
                throw new UnsupportedRequestException(
                    "AuroraCap takes no system message: its reference prompt (xtuner's vicuna instruction, USER: ... ASSISTANT:) has no system prompt at inference. Put the instructions in the user message.",
                    "messages");
            }

            var expected = i % 2 == 0 ? ChatRole.User : ChatRole.Assistant;
            if (role != expected)
            {
                throw new UnsupportedRequestException(
                    $"Message {i + 1} has role '{role}', but AuroraCap's conversations alternate user and assistant messages, starting with the user.",
                    "messages");
            }

            if (role == ChatRole.Assistant && messages[i].Parts.Any(p => p is PromptVisualPart))
            {
                throw new UnsupportedRequestException("AuroraCap's assistant messages cannot carry images or videos; put them in a user message.", "messages");
            }
        }
    }

    /// <summary>Writes a user message: text as is, an image as <c>&lt;image&gt;\n</c>, a video as space-joined per-frame markers then <c>\n</c>.</summary>
    private static void AppendUserContent(PieceBuilder b, PromptMessage message)
    {
        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case PromptTextPart text:
                    b.Text(text.Text);
                    break;
                case PromptVisualPart { Input: { Kind: VisualInputKind.Video } video }:
                    for (var f = 0; f < video.Views.Count; f++)
                    {
                        if (f > 0)
                        {
                            b.Text(" ");
                        }

                        b.Visual(new VisualSegment(video.Index, f, 1, video.Views[f].TokenCount), ImageMarker);
                    }

                    b.Text("\n");
                    break;
                case PromptVisualPart { Input: var input }:
                    b.Visual(new VisualSegment(input.Index, 0, input.Views.Count, input.TokenCount), ImageMarker);
                    b.Text("\n");
                    break;
            }
        }
    }

    /// <summary>Collects the prompt text and its segments, keeping the reference's tokenization pieces apart (unlike <see cref="FormattedPromptBuilder"/>, which merges adjacent text).</summary>
    private sealed class PieceBuilder
    {
        private readonly System.Text.StringBuilder _text = new();
        private readonly System.Text.StringBuilder _pending = new();
        private readonly List<PromptSegment> _segments = [];

        /// <summary>Appends text to the current piece.</summary>
        public void Text(string text)
        {
            _text.Append(text);
            _pending.Append(text);
        }

        /// <summary>Ends the current piece, so that the next text is tokenized separately.</summary>
        public void EndPiece()
        {
            if (_pending.Length > 0)
            {
                _segments.Add(new TextSegment(_pending.ToString()));
                _pending.Clear();
            }
        }

        /// <summary>Appends a visual segment, which also ends the current text piece.</summary>
        public void Visual(VisualSegment segment, string marker)
        {
            EndPiece();
            _segments.Add(segment);
            _text.Append(marker);
        }

        /// <summary>Creates the prompt.</summary>
        public FormattedPrompt Build(IReadOnlyList<string> stopStrings)
        {
            EndPiece();
            return new FormattedPrompt(_text.ToString(), [.. _segments], stopStrings);
        }
    }
}
