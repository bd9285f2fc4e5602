// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal.Models.MiniCpmV;

/// <summary>MiniCPM-V 2.0's conversation: <c>&lt;用户&gt;{question}&lt;AI&gt;{answer}…&lt;AI&gt;</c>, the image as
/// <c>&lt;image&gt;&lt;unk&gt;…&lt;/image&gt;</c> placeholders with a <c>&lt;slice&gt;</c> grid, answers closed by <c>&lt;/s&gt;</c>.</summary>
/// <remarks>
/// <para>Rendering follows openbmb/MiniCPM-V-2 <c>modeling_minicpmv.py</c> <c>chat()</c> (FAMILIES.md §E.5): for every
/// message <c>&lt;用户&gt;</c> (user) or <c>&lt;AI&gt;</c> (assistant) followed by its content, with no separator
/// between turns, then <c>&lt;AI&gt;</c> opens the answer. The image is written where it appears in its message as
/// <c>get_slice_image_placeholder</c> lays it out, followed by <c>\n</c>: the source view
/// <c>&lt;image&gt;</c> + <c>&lt;unk&gt;</c>×n + <c>&lt;/image&gt;</c>, then, when the image was sliced,
/// <c>&lt;slice&gt;</c>, one line per grid row (the row's slice placeholders concatenated, lines joined by
/// <c>\n</c>) and <c>&lt;/slice&gt;</c>. The reference puts the image before the first question, which is what a
/// request with the image first gets.</para>
/// <para>Each view (the source and every slice) is its own <see cref="VisualSegment"/>; its <c>&lt;unk&gt;</c> run is
/// where <c>image_bound</c> writes that view's resampler rows. Tokenization is the whole string at once with the
/// tokenizer's BOS (<c>add_bos_token: true</c>), the <c>&lt;unk&gt;</c> runs marking the visual positions.</para>
/// <para>Limits, as the reference <c>chat()</c>: one image per conversation (a PDF page counts as an image), in a
/// user message; no system role; no video (MiniCPM-V 2.0 has no video path). Each limit throws
/// <see cref="UnsupportedRequestException"/>.</para>
/// <para>The model scales text embeddings by <c>scale_emb</c> and leaves the visual rows unscaled; that happens in the
/// backend's decoder, not in the prompt.</para>
/// </remarks>
/// <example>
/// A 448×448 image (no slices) and a question:
/// <code>
/// &lt;用户&gt;&lt;image&gt;&lt;unk&gt;…(64)…&lt;/image&gt;\nWhat is in the image?&lt;AI&gt;
/// </code>
/// </example>
public sealed class MiniCpmVPromptTemplate : IPromptTemplate
{
    /// <summary>The placeholder token of visual positions (<c>tokenizer.unk_token</c>).</summary>
    public const string UnknownToken = "<unk>";

    /// <summary>The stop string (<c>&lt;/s&gt;</c>, the tokenizer's EOS).</summary>
    public const string StopString = "</s>";

    private const string ImageStart = "<image>";
    private const string ImageEnd = "</image>";
    private const string SliceStart = "<slice>";
    private const string SliceEnd = "</slice>";

    /// <summary>Gets the shared instance.</summary>
    public static MiniCpmVPromptTemplate Instance { get; } = new();

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="conversation"/> is <see langword="null"/>.</exception>
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        Validate(conversation);
        var b = new FormattedPromptBuilder();
        foreach (var message in conversation.Messages)
        {
            b.Append(message.Role == ChatRole.User ? "<用户>" : "<AI>");
            foreach (var part in message.Parts)
            {
                switch (part)
                {
                    case PromptTextPart t:
                        b.Append(t.Text);
                        break;
                    case PromptVisualPart { Input: var input }:
                        AppendImage(b, input);
                        b.Append("\n");
                        break;
                }
            }
        }

        if (conversation.AddGenerationPrompt)
        {
            b.Append("<AI>");
        }

        return b.Build([StopString]);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> or <paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The tokenizer has no <c>&lt;unk&gt;</c> token.</exception>
    /// <exception cref="UnsupportedRequestException">The <c>&lt;unk&gt;</c> runs do not line up with the views.</exception>
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var unk = tokenizer.TokenToId(UnknownToken)
            ?? throw new ArgumentException($"The tokenizer has no '{UnknownToken}' token, which MiniCPM-V uses for visual positions; load the model folder's own tokenizer.", nameof(tokenizer));
        return PromptTokenization.TokenizeWithPlaceholderRuns(prompt, tokenizer, unk, addSpecialTokens: true);
    }

    /// <summary>Writes one image: the source placeholder, then the slice grid when the image was sliced.</summary>
    private static void AppendImage(FormattedPromptBuilder b, VisualInput input)
    {
        var views = input.Views;
        var expected = input.GridRows > 0 ? 1 + (input.GridRows * input.GridColumns) : 1;
        if (views.Count != expected)
        {
            throw new UnsupportedRequestException(
                $"Visual input #{input.Index} has {views.Count} views but a {input.GridRows}x{input.GridColumns} slice grid; MiniCPM-V lays out the source view plus one view per slice ({expected}). Use the family's MiniCPM-V splitter.",
                "messages");
        }

        AppendView(b, input.Index, 0, views[0].TokenCount);
        if (input.GridRows == 0)
        {
            return;
        }

        b.Append(SliceStart);
        for (var row = 0; row < input.GridRows; row++)
        {
            if (row > 0)
            {
                b.Append("\n");
            }

            for (var column = 0; column < input.GridColumns; column++)
            {
                var view = 1 + (row * input.GridColumns) + column;
                AppendView(b, input.Index, view, views[view].TokenCount);
            }
        }

        b.Append(SliceEnd);
    }

    private static void AppendView(FormattedPromptBuilder b, int inputIndex, int view, int tokens)
    {
        b.Append(ImageStart);
        b.AppendVisual(new VisualSegment(inputIndex, view, 1, tokens), string.Concat(Enumerable.Repeat(UnknownToken, tokens)));
        b.Append(ImageEnd);
    }

    /// <summary>Checks the conversation against what the reference <c>chat()</c> can express.</summary>
    private static void Validate(PromptConversation conversation)
    {
        PromptTokenization.RejectMarkersInText(conversation, ImageStart, ImageEnd, UnknownToken);
        var images = 0;
        for (var i = 0; i < conversation.Messages.Count; i++)
        {
            var message = conversation.Messages[i];
            if (message.Role == ChatRole.System)
            {
                throw new UnsupportedRequestException(
                    "MiniCPM-V 2 has no system role (its chat() renders only <用户> and <AI> turns). Put the instructions in the first user message.",
                    "messages");
            }

            if (message.Role != ChatRole.User && message.Role != ChatRole.Assistant)
            {
                throw new UnsupportedRequestException($"Message {i + 1} has role '{message.Role}'; MiniCPM-V 2 conversations have only user and assistant messages.", "messages");
            }

            foreach (var input in message.Parts.OfType<PromptVisualPart>().Select(p => p.Input))
            {
                if (input.Kind == VisualInputKind.Video)
                {
                    throw new UnsupportedRequestException(
                        "MiniCPM-V 2 takes no video (video input arrived with MiniCPM-V 2.6). Send one frame as an image, or use LongVA or AuroraCap for video.",
                        "messages");
                }

                if (message.Role != ChatRole.User)
                {
                    throw new UnsupportedRequestException("MiniCPM-V 2 takes its image in a user message; assistant messages cannot carry images.", "messages");
                }

                images++;
            }
        }

        if (images > 1)
        {
            throw new UnsupportedRequestException(
                $"MiniCPM-V 2 takes one image per conversation; the request has {images} (images and PDF pages count alike). Send one image (or one page), or combine the images into one.",
                "messages");
        }
    }
}
