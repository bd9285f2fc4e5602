// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Microsoft.Extensions.AI;

namespace Multimodal.TestDoubles;

/// <summary>A small USER/ASSISTANT template for tests: each visual input becomes "&lt;image&gt;" in the text and a run of -200 ids.</summary>
public sealed class TestPromptTemplate : IPromptTemplate
{
    public const int Placeholder = -200;

    public List<PromptConversation> Conversations { get; } = [];

    public IReadOnlyList<string> StopStrings { get; init; } = [];

    public FormattedPrompt Format(PromptConversation conversation)
    {
        Conversations.Add(conversation);
        var text = new StringBuilder();
        var segments = new List<PromptSegment>();
        var pending = new StringBuilder();
        void Text(string s)
        {
            text.Append(s);
            pending.Append(s);
        }

        foreach (var m in conversation.Messages)
        {
            Text(m.Role == ChatRole.System ? "SYSTEM: " : m.Role == ChatRole.User ? "USER: " : "ASSISTANT: ");
            foreach (var part in m.Parts)
            {
                if (part is PromptTextPart t)
                {
                    Text(t.Text);
                }
                else if (part is PromptVisualPart v)
                {
                    segments.Add(new TextSegment(pending.ToString()));
                    pending.Clear();
                    text.Append("<image>");
                    segments.Add(new VisualSegment(v.Input.Index, 0, v.Input.Views.Count, v.Input.TokenCount));
                }
            }

            Text("\n");
        }

        if (conversation.AddGenerationPrompt)
        {
            Text("ASSISTANT:");
        }

        segments.Add(new TextSegment(pending.ToString()));
        return new FormattedPrompt(text.ToString(), segments, StopStrings);
    }

    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer)
    {
        var ids = new List<int>();
        var spans = new List<VisualSpan>();
        var first = true;
        foreach (var s in prompt.Segments)
        {
            if (s is TextSegment t)
            {
                ids.AddRange(tokenizer.Encode(t.Text, addSpecialTokens: first));
                first = false;
            }
            else if (s is VisualSegment v)
            {
                spans.Add(new VisualSpan(ids.Count, v));
                ids.AddRange(Enumerable.Repeat(Placeholder, v.TokenCount));
            }
        }

        return new PromptTokens([.. ids], spans, Placeholder);
    }
}
