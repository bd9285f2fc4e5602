// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal.Models.Llava;

/// <summary>LLaVA's <c>llava_v1</c> conversation (LLaVA-1.5 on Vicuna/Llama): <c>{system} USER: &lt;image&gt;\n{question} ASSISTANT:</c>, answers closed by <c>&lt;/s&gt;</c>.</summary>
/// <remarks>
/// <para>Rendering follows <c>llava/conversation.py</c> (separator style TWO, separators <c>" "</c> and <c>"&lt;/s&gt;"</c>):
/// the system prompt and a space, then for every message <c>ROLE: message</c> followed by <c>" "</c> after a user
/// message and <c>&lt;/s&gt;</c> after an answer; the open assistant turn is <c>ASSISTANT:</c>. Each image is written
/// as <c>&lt;image&gt;\n</c> where it appears in the message (the reference prepends it to the first question).</para>
/// <para>Tokenization is <c>tokenizer_image_token</c>: the text between images is tokenized chunk by chunk, one BOS
/// kept, and each <c>&lt;image&gt;</c> becomes the −200 sentinel, which the image's visual tokens replace.</para>
/// </remarks>
public sealed class LlavaV1PromptTemplate : IPromptTemplate
{
    /// <summary>The reference system prompt.</summary>
    public const string DefaultSystemPrompt = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

    /// <summary>Gets the shared instance.</summary>
    public static LlavaV1PromptTemplate Instance { get; } = new();

    /// <inheritdoc />
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        PromptTokenization.RejectMarkersInText(conversation, "<image>");
        var (system, messages) = PromptTokenization.SplitSystemAndAlternation(conversation, "LLaVA");
        var b = new FormattedPromptBuilder().Append(system ?? DefaultSystemPrompt).Append(" ");
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            b.Append(m.Role == ChatRole.User ? "USER: " : "ASSISTANT: ");
            LlavaConversation.AppendContent(b, m, "<image>\n");
            b.Append(i % 2 == 0 ? " " : "</s>");
        }

        if (conversation.AddGenerationPrompt)
        {
            b.Append("ASSISTANT:");
        }

        return b.Build(["</s>"]);
    }

    /// <inheritdoc />
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer) =>
        PromptTokenization.TokenizeChunks(prompt, tokenizer);
}

/// <summary>LLaVA's <c>mpt</c> conversation (LLaVA-Lightning-MPT): ChatML roles with no newline after <c>&lt;|im_end|&gt;</c>.</summary>
/// <remarks>
/// <para>Rendering follows <c>llava/conversation.py</c> (separator style MPT): <c>&lt;|im_start|&gt;system\n{system}&lt;|im_end|&gt;</c>,
/// then <c>&lt;|im_start|&gt;user\n{message}&lt;|im_end|&gt;</c> and <c>&lt;|im_start|&gt;assistant\n{answer}&lt;|im_end|&gt;</c>, and
/// the open turn <c>&lt;|im_start|&gt;assistant\n</c>. An image is <c>&lt;im_start&gt;&lt;image&gt;&lt;im_end&gt;\n</c> when the
/// model was trained with <c>mm_use_im_start_end</c> (the preview checkpoint was), else <c>&lt;image&gt;\n</c>.</para>
/// <para>Tokenization is <c>tokenizer_image_token</c> with a byte-level BPE tokenizer that adds no BOS.</para>
/// </remarks>
/// <param name="useImageStartEnd">Whether images are wrapped in <c>&lt;im_start&gt;</c>/<c>&lt;im_end&gt;</c>.</param>
public sealed class LlavaMptPromptTemplate(bool useImageStartEnd = true) : IPromptTemplate
{
    /// <summary>The reference system prompt (after <c>&lt;|im_start|&gt;system\n</c>).</summary>
    public const string DefaultSystemPrompt = "A conversation between a user and an LLM-based AI assistant. The assistant gives helpful and honest answers.";

    /// <summary>Gets whether images are wrapped in <c>&lt;im_start&gt;</c>/<c>&lt;im_end&gt;</c>.</summary>
    public bool UseImageStartEnd { get; } = useImageStartEnd;

    /// <inheritdoc />
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        PromptTokenization.RejectMarkersInText(conversation, "<image>");
        var (system, messages) = PromptTokenization.SplitSystemAndAlternation(conversation, "LLaVA");
        var b = new FormattedPromptBuilder().Append("<|im_start|>system\n").Append(system ?? DefaultSystemPrompt).Append("<|im_end|>");
        foreach (var m in messages)
        {
            b.Append(m.Role == ChatRole.User ? "<|im_start|>user\n" : "<|im_start|>assistant\n");
            LlavaConversation.AppendContent(b, m, UseImageStartEnd ? "<im_start><image><im_end>\n" : "<image>\n");
            b.Append("<|im_end|>");
        }

        if (conversation.AddGenerationPrompt)
        {
            b.Append("<|im_start|>assistant\n");
        }

        return b.Build(["<|im_end|>"]);
    }

    /// <inheritdoc />
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer) =>
        PromptTokenization.TokenizeChunks(prompt, tokenizer);
}

/// <summary>Conversation rules the LLaVA templates share.</summary>
internal static class LlavaConversation
{
    /// <summary>Writes a message's parts: text as is, each image (or PDF page) as the marker around its visual segment.</summary>
    public static void AppendContent(FormattedPromptBuilder b, PromptMessage message, string imageMarker)
    {
        var at = imageMarker.IndexOf("<image>", StringComparison.Ordinal);
        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case PromptTextPart t:
                    b.Append(t.Text);
                    break;
                case PromptVisualPart { Input: var input }:
                    if (input.Kind == VisualInputKind.Video)
                    {
                        throw new UnsupportedRequestException("LLaVA-1.5 and LLaVA-MPT take images (and PDF pages as images), not videos. Send frames as images, or use LongVA or AuroraCap for video.", "messages");
                    }

                    b.Append(imageMarker[..at]);
                    b.AppendVisual(new VisualSegment(input.Index, 0, input.Views.Count, input.TokenCount), "<image>");
                    b.Append(imageMarker[(at + "<image>".Length)..]);
                    break;
            }
        }
    }
}
