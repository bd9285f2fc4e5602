// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

/// <summary>A family's template against the prompt goldens of eng/train/prompt_goldens.py (the Python port of the
/// reference prompt code, tokenized by the reference tokenizer library): exact prompt text, ids and visual spans.</summary>
/// <remarks>Each family has a derived class naming its golden file and template; every case of the file is a test.</remarks>
public abstract class PromptGoldenTestBase
{
    /// <summary>Gets the case names of a family's golden file.</summary>
    protected static TheoryData<string> CasesOf(string family)
    {
        var data = new TheoryData<string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenPath(family)));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateObject())
        {
            data.Add(c.Name);
        }

        return data;
    }

    /// <summary>Gets the golden file's family name.</summary>
    protected abstract string Family { get; }

    /// <summary>Creates the template the family package configures for the golden file's model folder.</summary>
    protected abstract IPromptTemplate CreateTemplate(string modelFolder);

    /// <summary>Checks one case.</summary>
    protected void Check(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenPath(Family)));
        var root = doc.RootElement;
        var golden = root.GetProperty("cases").GetProperty(caseName);
        var folder = RepositoryPaths.Combine(root.GetProperty("model").GetString()!.Split('/'));
        var tokenizer = Tokenizer.Load(folder);
        var template = CreateTemplate(folder);

        var conversation = ToConversation(golden.GetProperty("messages"));
        var prompt = template.Format(conversation);
        Assert.Equal(golden.GetProperty("text").GetString(), prompt.Text);

        var tokens = template.Tokenize(prompt, tokenizer);
        var expectedIds = golden.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(expectedIds, tokens.Ids);
        Assert.Equal(golden.GetProperty("placeholder").GetInt32(), tokens.PlaceholderId);
        var expectedSpans = golden.GetProperty("spans").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToArray();
        Assert.Equal(expectedSpans, tokens.VisualSpans.Select(s => (s.Offset, s.Segment.TokenCount)).ToArray());
    }

    internal static string GoldenPath(string family) => RepositoryPaths.Combine("tests", "data", "prompts", family + ".json");

    /// <summary>Builds the conversation a golden case describes: visual parts become inputs with the recorded token counts.</summary>
    internal static PromptConversation ToConversation(JsonElement messages)
    {
        var list = new List<PromptMessage>();
        var index = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var role = m.GetProperty("role").GetString() switch
            {
                "system" => ChatRole.System,
                "assistant" => ChatRole.Assistant,
                _ => ChatRole.User,
            };
            var parts = new List<PromptPart>();
            foreach (var p in m.GetProperty("content").EnumerateArray())
            {
                if (p.GetProperty("type").GetString() == "text")
                {
                    parts.Add(new PromptTextPart(p.GetProperty("text").GetString()!));
                    continue;
                }

                var tokens = p.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
                var rows = p.GetProperty("grid")[0].GetInt32();
                var cols = p.GetProperty("grid")[1].GetInt32();
                var kind = p.GetProperty("kind").GetString() switch
                {
                    "video" => VisualInputKind.Video,
                    "page" => VisualInputKind.PdfPage,
                    _ => VisualInputKind.Image,
                };
                var views = tokens.Select((t, i) => kind == VisualInputKind.Video || i == 0 || rows == 0
                    ? new VisualView(ImageViewKind.Global, 0, 0, t) { FrameIndex = kind == VisualInputKind.Video ? i : 0 }
                    : new VisualView(ImageViewKind.Tile, (i - 1) / cols, (i - 1) % cols, t)).ToList();
                var input = new VisualInput(index++, kind, views, rows, cols) { PageNumber = p.TryGetProperty("page", out var page) ? page.GetInt32() : 0 };
                parts.Add(new PromptVisualPart(input));
            }

            list.Add(new PromptMessage(role, parts));
        }

        return new PromptConversation(list);
    }
}
