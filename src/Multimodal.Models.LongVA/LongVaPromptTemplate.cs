// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal.Models.LongVA;

/// <summary>LongVA's <c>qwen_1_5</c> conversation (ChatML with a system turn), with one <c>&lt;image&gt;</c> per image and one per whole video.</summary>
/// <remarks>
/// <para>Rendering follows EvolvingLMMs-Lab/LongVA <c>longva/longva/conversation.py</c> (<c>conv_qwen</c>, separator
/// style CHATML, separator <c>&lt;|im_end|&gt;</c>) as the README uses it:
/// <c>&lt;|im_start|&gt;system\n{system}&lt;|im_end|&gt;\n</c>, then for every message
/// <c>&lt;|im_start|&gt;{role}\n{message}&lt;|im_end|&gt;\n</c>, and the open turn <c>&lt;|im_start|&gt;assistant\n</c>.
/// The system text is <see cref="DefaultSystemPrompt"/> unless the conversation starts with a system message.</para>
/// <para>Every image, PDF page and video is written as <c>&lt;image&gt;\n</c> where it appears in the message. A video
/// is one marker for all of its frames (the demo's <c>token_strategy="single"</c>): its segment covers every frame. An
/// image with a tile grid is encoded as a base view and tiles, and UniRes (<c>mm_patch_merge_type: "unires"</c>)
/// never uses the base view's features, so its segment covers the tiles only (views 1 to n − 1).</para>
/// <para>Tokenization is <c>tokenizer_image_token</c>: the text between markers is tokenized chunk by chunk (Qwen2's
/// byte-level BPE adds no BOS) and each marker becomes the −200 sentinel, which the visual tokens replace.</para>
/// <para>Thread-safety: stateless; use <see cref="Instance"/>.</para>
/// <code>
/// var prompt = LongVaPromptTemplate.Instance.Format(conversation);
/// // &lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n&lt;image&gt;\nWhat happens?&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
/// var tokens = LongVaPromptTemplate.Instance.Tokenize(prompt, tokenizer);
/// </code>
/// </remarks>
public sealed class LongVaPromptTemplate : IPromptTemplate
{
    /// <summary>The reference system prompt (<c>conv_qwen.system</c> after <c>&lt;|im_start|&gt;system\n</c>).</summary>
    public const string DefaultSystemPrompt = "You are a helpful assistant.";

    /// <summary>The stop string: the end of the assistant's ChatML turn.</summary>
    public const string StopString = "<|im_end|>";

    private const string ImageMarker = "<image>";

    private LongVaPromptTemplate()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static LongVaPromptTemplate Instance { get; } = new();

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="conversation"/> is <see langword="null"/>.</exception>
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        PromptTokenization.RejectMarkersInText(conversation, ImageMarker);
        var (system, messages) = PromptTokenization.SplitSystemAndAlternation(conversation, "LongVA");
        var b = new FormattedPromptBuilder()
            .Append("<|im_start|>system\n")
            .Append(system ?? DefaultSystemPrompt)
            .Append(StopString + "\n");
        foreach (var message in messages)
        {
            b.Append(message.Role == ChatRole.User ? "<|im_start|>user\n" : "<|im_start|>assistant\n");
            AppendContent(b, message);
            b.Append(StopString + "\n");
        }

        if (conversation.AddGenerationPrompt)
        {
            b.Append("<|im_start|>assistant\n");
        }

        return b.Build([StopString]);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> or <paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer) =>
        PromptTokenization.TokenizeChunks(prompt, tokenizer);

    /// <summary>Gets the views of a visual input that reach the language model, as one segment.</summary>
    /// <param name="input">The encoded input.</param>
    /// <returns>Every frame of a video; the tiles of a tiled image or page (UniRes drops the base view 0); otherwise every view.</returns>
    internal static VisualSegment SegmentFor(VisualInput input)
    {
        // The reference drops the base view only for anyres images (llava_arch.py, "unires"); a page is an image to it.
        if (input.Kind != VisualInputKind.Video && input.GridRows > 0 && input.Views.Count > 1)
        {
            var tokens = 0;
            for (var v = 1; v < input.Views.Count; v++)
            {
                tokens += input.Views[v].TokenCount;
            }

            return new VisualSegment(input.Index, 1, input.Views.Count - 1, tokens);
        }

        return new VisualSegment(input.Index, 0, input.Views.Count, input.TokenCount);
    }

    /// <summary>Writes a message's text as is and each visual input as <c>&lt;image&gt;\n</c> around its segment.</summary>
    private static void AppendContent(FormattedPromptBuilder b, PromptMessage message)
    {
        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case PromptTextPart text:
                    b.Append(text.Text);
                    break;
                case PromptVisualPart visual:
                    b.AppendVisual(SegmentFor(visual.Input), ImageMarker);
                    b.Append("\n");
                    break;
            }
        }
    }
}
