// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;

namespace Multimodal.Models.Aria;

/// <summary>Aria's chat format: <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message, images as
/// <c>&lt;fim_prefix&gt;</c> + <c>&lt;|img|&gt;</c>×n + <c>&lt;fim_suffix&gt;</c>, answers closed by <c>&lt;|im_end|&gt;</c>.</summary>
/// <remarks>
/// <para>Rendering follows the <c>chat_template</c> of rhymes-ai/Aria's <c>tokenizer_config.json</c> and the
/// placeholder expansion of <c>aria/model/processing_aria.py</c> (FAMILIES.md §A.5): for every message
/// <c>&lt;|im_start|&gt;</c> + role (<c>system</c>, <c>user</c> or <c>assistant</c>) + <c>\n</c> + its content +
/// <c>&lt;|im_end|&gt;\n</c>; the open turn is <c>&lt;|im_start|&gt;assistant\n</c>. There is no default system
/// prompt. Text is written verbatim; an image is written where it appears as <c>&lt;fim_prefix&gt;</c>, one
/// <c>&lt;|img|&gt;</c> per visual token of all its crops (the global crop first, then the tiles), and
/// <c>&lt;fim_suffix&gt;</c>; all its crops form one <see cref="VisualSegment"/>.</para>
/// <para>PDF pages follow seed 000's recipe (<c>aria_pdf_content</c> in the Python port): each page reads
/// <c>Page {n}: </c> + the page image + <c>\n</c>, where n is <see cref="VisualInput.PageNumber"/> (the page's number
/// in the document). The template writes that text itself, so a message holding the pages of a PDF and then the
/// question renders as the recipe does. A client that already spells the recipe out gets it once, not twice: the
/// <c>Page {n}: </c> prefix is not added when the text right before the page (in the same message) already ends
/// with it, and the <c>\n</c> is not added when the text right after the page starts with a line break. Any other
/// text of the user's stays where it is, verbatim.</para>
/// <para>Video frames follow Aria's video cookbook: per frame <c>[MM:SS]</c> (the frame time, when known), the
/// frame as an image, and <c>\n</c>; each frame is its own segment. Frames are encoded at the processor's
/// <c>max_image_size</c>; the cookbook uses 490 for video (128 tokens per frame).</para>
/// <para>Tokenization is the whole string at once without special tokens (Aria's tokenizer adds no BOS), the
/// <c>&lt;|img|&gt;</c> runs (id 9 in rhymes-ai/Aria) marking the visual positions.</para>
/// </remarks>
/// <example>
/// One image (980, not split) and a question:
/// <code>
/// &lt;|im_start|&gt;user\n&lt;fim_prefix&gt;&lt;|img|&gt;…(256)…&lt;fim_suffix&gt;What is in the image?&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
/// </code>
/// </example>
public sealed class AriaPromptTemplate : IPromptTemplate
{
    /// <summary>The placeholder token of visual positions.</summary>
    public const string ImageToken = "<|img|>";

    /// <summary>The stop string, which ends every turn.</summary>
    public const string StopString = "<|im_end|>";

    private const string ImagePrefix = "<fim_prefix>";
    private const string ImageSuffix = "<fim_suffix>";

    /// <summary>Gets the shared instance.</summary>
    public static AriaPromptTemplate Instance { get; } = new();

    /// <summary>Returns the text seed 000's PDF recipe writes before a page.</summary>
    /// <param name="pageNumber">The page number, from 1.</param>
    /// <returns><c>Page {n}: </c>.</returns>
    public static string PagePrefix(int pageNumber) => string.Create(CultureInfo.InvariantCulture, $"Page {pageNumber}: ");

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="conversation"/> is <see langword="null"/>.</exception>
    public FormattedPrompt Format(PromptConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        PromptTokenization.RejectMarkersInText(conversation, ImageToken);
        var b = new FormattedPromptBuilder();
        var pages = 0;
        for (var i = 0; i < conversation.Messages.Count; i++)
        {
            var message = conversation.Messages[i];
            b.Append("<|im_start|>").Append(RoleName(message.Role, i)).Append("\n");

            // The text written since the last visual part of this message, to see whether a page's prefix is already there.
            var textBefore = new StringBuilder();
            for (var p = 0; p < message.Parts.Count; p++)
            {
                switch (message.Parts[p])
                {
                    case PromptTextPart t:
                        b.Append(t.Text);
                        textBefore.Append(t.Text);
                        break;
                    case PromptVisualPart { Input: var input }:
                        var followedByBreak = p + 1 < message.Parts.Count && message.Parts[p + 1] is PromptTextPart next && StartsWithLineBreak(next.Text);
                        switch (input.Kind)
                        {
                            case VisualInputKind.PdfPage:
                                var prefix = PagePrefix(input.PageNumber > 0 ? input.PageNumber : pages + 1);
                                if (!EndsWith(textBefore, prefix))
                                {
                                    b.Append(prefix);
                                }

                                AppendImage(b, input, 0, input.Views.Count);
                                if (!followedByBreak)
                                {
                                    b.Append("\n");
                                }

                                pages++;
                                break;
                            case VisualInputKind.Video:
                                AppendVideo(b, input);
                                break;
                            default:
                                AppendImage(b, input, 0, input.Views.Count);
                                break;
                        }

                        textBefore.Clear();
                        break;
                }
            }

            b.Append("<|im_end|>\n");
        }

        if (conversation.AddGenerationPrompt)
        {
            b.Append("<|im_start|>assistant\n");
        }

        return b.Build([StopString]);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> or <paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The tokenizer has no <c>&lt;|img|&gt;</c> token.</exception>
    /// <exception cref="UnsupportedRequestException">The <c>&lt;|img|&gt;</c> runs do not line up with the images.</exception>
    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var img = tokenizer.TokenToId(ImageToken)
            ?? throw new ArgumentException($"The tokenizer has no '{ImageToken}' token, which Aria uses for visual positions; load the model folder's own tokenizer.", nameof(tokenizer));
        return PromptTokenization.TokenizeWithPlaceholderRuns(prompt, tokenizer, img, addSpecialTokens: false);
    }

    private static string RoleName(ChatRole role, int index) =>
        role == ChatRole.User ? "user"
        : role == ChatRole.Assistant ? "assistant"
        : role == ChatRole.System ? "system"
        : throw new UnsupportedRequestException($"Message {index + 1} has role '{role}'; Aria's chat format has system, user and assistant messages.", "messages");

    /// <summary>Writes views [first, first + count) of an input as one image: the prefix, one placeholder per token, the suffix.</summary>
    private static void AppendImage(FormattedPromptBuilder b, VisualInput input, int first, int count)
    {
        var tokens = 0;
        for (var v = first; v < first + count; v++)
        {
            tokens += input.Views[v].TokenCount;
        }

        b.Append(ImagePrefix);
        b.AppendVisual(new VisualSegment(input.Index, first, count, tokens), string.Concat(Enumerable.Repeat(ImageToken, tokens)));
        b.Append(ImageSuffix);
    }

    /// <summary>Writes a video as the cookbook does: per frame its time as <c>[MM:SS]</c> when known, the frame, <c>\n</c>.</summary>
    private static void AppendVideo(FormattedPromptBuilder b, VisualInput input)
    {
        for (var v = 0; v < input.Views.Count; v++)
        {
            if (input.Views[v].Timestamp is { } time)
            {
                var seconds = (long)time.TotalSeconds;
                b.Append(string.Create(CultureInfo.InvariantCulture, $"[{seconds / 60:D2}:{seconds % 60:D2}]"));
            }

            AppendImage(b, input, v, 1);
            b.Append("\n");
        }
    }

    private static bool StartsWithLineBreak(string text) => text.Length > 0 && text[0] is '\n' or '\r';

    private static bool EndsWith(StringBuilder text, string suffix)
    {
        if (text.Length < suffix.Length)
        {
            return false;
        }

        for (var i = 0; i < suffix.Length; i++)
        {
            if (text[text.Length - suffix.Length + i] != suffix[i])
            {
                return false;
            }
        }

        return true;
    }
}
