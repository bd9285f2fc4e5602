// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal;

/// <summary>Turns a conversation into the family's exact prompt: the chat format, image placeholders expanded to the right number of visual tokens, and the stop strings.</summary>
/// <remarks>
/// <para>Templates are stateless singletons and thread-safe. A template throws <see cref="UnsupportedRequestException"/>
/// for roles or content the family cannot express.</para>
/// <para>Formatting and tokenizing are separate because families tokenize differently: LLaVA tokenizes the text
/// between <c>&lt;image&gt;</c> markers chunk by chunk, MiniCPM-V tokenizes the whole string with <c>&lt;unk&gt;</c> runs in it.</para>
/// </remarks>
public interface IPromptTemplate
{
    /// <summary>Formats a conversation.</summary>
    /// <param name="conversation">The messages, with every media part already resolved to a <see cref="VisualInput"/>.</param>
    /// <returns>The prompt text, its segments and the stop strings.</returns>
    /// <exception cref="UnsupportedRequestException">A role, content or ordering the family cannot express.</exception>
    FormattedPrompt Format(PromptConversation conversation);

    /// <summary>Tokenizes a formatted prompt the way the family's reference code does.</summary>
    /// <param name="prompt">The result of <see cref="Format"/>.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <returns>The input ids, with each visual span's positions marked.</returns>
    PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer);
}

/// <summary>A conversation ready for a template: roles with text and resolved visual parts.</summary>
/// <param name="Messages">The messages in order; a leading system message carries the instructions.</param>
/// <param name="AddGenerationPrompt">Whether to end with the assistant turn's opening so the model answers.</param>
public sealed record PromptConversation(IReadOnlyList<PromptMessage> Messages, bool AddGenerationPrompt = true);

/// <summary>One message of a <see cref="PromptConversation"/>.</summary>
/// <param name="Role">The speaker.</param>
/// <param name="Parts">Text and visual parts in order.</param>
public sealed record PromptMessage(ChatRole Role, IReadOnlyList<PromptPart> Parts)
{
    /// <summary>Gets the concatenated text of the message's text parts.</summary>
    public string Text => string.Concat(Parts.OfType<PromptTextPart>().Select(p => p.Text));
}

/// <summary>A part of a <see cref="PromptMessage"/>.</summary>
public abstract record PromptPart;

/// <summary>Text.</summary>
/// <param name="Text">The text.</param>
public sealed record PromptTextPart(string Text) : PromptPart;

/// <summary>An image, PDF page or video, already encoded; the template decides how it appears in the prompt.</summary>
/// <param name="Input">The visual input.</param>
public sealed record PromptVisualPart(VisualInput Input) : PromptPart;

/// <summary>What a visual input is.</summary>
public enum VisualInputKind
{
    /// <summary>A still image.</summary>
    Image,

    /// <summary>A rendered PDF page.</summary>
    PdfPage,

    /// <summary>A video (its views are frames).</summary>
    Video,
}

/// <summary>An encoded image, PDF page or video as the template sees it: views, layout and token counts.</summary>
/// <param name="Index">The position of this input among all visual inputs of the request, from 0.</param>
/// <param name="Kind">What it is.</param>
/// <param name="Views">The views (global view and tiles, or frames) in encoding order, with their token counts.</param>
/// <param name="GridRows">The tile grid rows (0 when not tiled).</param>
/// <param name="GridColumns">The tile grid columns (0 when not tiled).</param>
public sealed record VisualInput(int Index, VisualInputKind Kind, IReadOnlyList<VisualView> Views, int GridRows = 0, int GridColumns = 0)
{
    /// <summary>Gets the 1-based page number for a PDF page (0 otherwise).</summary>
    public int PageNumber { get; init; }

    /// <summary>Gets the total number of visual tokens over all views.</summary>
    public int TokenCount => Views.Sum(v => v.TokenCount);
}

/// <summary>One encoded view of a <see cref="VisualInput"/>.</summary>
/// <param name="Kind">Global view or tile.</param>
/// <param name="Row">The tile row (0 for a global view).</param>
/// <param name="Column">The tile column (0 for a global view).</param>
/// <param name="TokenCount">The number of visual tokens after encoding and merging.</param>
public sealed record VisualView(ImageViewKind Kind, int Row, int Column, int TokenCount)
{
    /// <summary>Gets the frame index for a video frame (0 otherwise).</summary>
    public int FrameIndex { get; init; }

    /// <summary>Gets the frame time for a video frame.</summary>
    public TimeSpan? Timestamp { get; init; }
}

/// <summary>The output of <see cref="IPromptTemplate.Format"/>.</summary>
/// <param name="Text">The prompt as the reference code writes it (visual placeholders included, expanded or not as the family does).</param>
/// <param name="Segments">The prompt split into text and visual segments, in order.</param>
/// <param name="StopStrings">Strings that end the assistant's turn (for example <c>&lt;/s&gt;</c> or <c>&lt;|im_end|&gt;</c>).</param>
public sealed record FormattedPrompt(string Text, IReadOnlyList<PromptSegment> Segments, IReadOnlyList<string> StopStrings);

/// <summary>A piece of a <see cref="FormattedPrompt"/>.</summary>
public abstract record PromptSegment;

/// <summary>Literal prompt text.</summary>
/// <param name="Text">The text.</param>
public sealed record TextSegment(string Text) : PromptSegment;

/// <summary>A run of visual tokens taken from consecutive views of one visual input.</summary>
/// <param name="InputIndex">The <see cref="VisualInput.Index"/>.</param>
/// <param name="FirstView">The first view used.</param>
/// <param name="ViewCount">How many consecutive views are concatenated.</param>
/// <param name="TokenCount">The total tokens of those views.</param>
public sealed record VisualSegment(int InputIndex, int FirstView, int ViewCount, int TokenCount) : PromptSegment;

/// <summary>The token ids of a prompt, with the positions visual embeddings fill.</summary>
/// <param name="Ids">All positions; visual positions hold <see cref="PlaceholderId"/>.</param>
/// <param name="VisualSpans">Where each visual segment goes, in ascending offset order.</param>
/// <param name="PlaceholderId">The id at visual positions (for example the family's image token, or -200 for LLaVA's sentinel).</param>
public sealed record PromptTokens(int[] Ids, IReadOnlyList<VisualSpan> VisualSpans, int PlaceholderId)
{
    /// <summary>Gets the number of visual positions.</summary>
    public int VisualTokenCount => VisualSpans.Sum(s => s.Segment.TokenCount);
}

/// <summary>The position of one visual segment in a <see cref="PromptTokens"/>.</summary>
/// <param name="Offset">The first position.</param>
/// <param name="Segment">The segment placed there.</param>
public sealed record VisualSpan(int Offset, VisualSegment Segment);
