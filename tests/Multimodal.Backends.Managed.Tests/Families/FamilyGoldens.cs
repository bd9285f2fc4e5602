// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Decoder;

namespace Multimodal.Backends.Managed.Families;

/// <summary>Checks shared by every family: the decoder on each golden prompt.</summary>
internal static class FamilyGoldens
{
    /// <summary>For each prompt: the spliced input embeddings, every layer's hidden state, all logits, and 32 greedy
    /// tokens decoded with the KV cache (identical ids, logits within tolerance).</summary>
    public static void CheckPrompts(Goldens golden, ManagedModel model)
    {
        using (model)
        {
            var decoder = model.Family.Decoder;
            var vocab = decoder.Config.VocabularySize;
            foreach (var prompt in golden.Manifest.GetProperty("prompts").EnumerateObject())
            {
                var name = prompt.Name;
                var input = BuildInput(golden, prompt.Value, decoder.Config.HiddenSize);
                using var state = decoder.CreateState();
                var logits = decoder.ForwardAll(state, input, (layer, hidden) =>
                {
                    var file = layer < 0 ? $"prompt.{name}.inputs_embeds.npy" : $"prompt.{name}.layer{layer}.npy";
                    golden.AssertClose(file, hidden, $"prompt {name} {(layer < 0 ? "inputs_embeds" : $"layer {layer}")}");
                });
                golden.AssertClose($"prompt.{name}.logits.npy", logits, $"prompt {name} logits");

                // Greedy decoding with the cache, from the prompt's last logits.
                var expected = golden.Longs($"prompt.{name}.greedy.npy");
                var expectedLogits = golden.Floats($"prompt.{name}.greedy_logits.npy").Data;
                var step = logits.AsSpan((input.Length - 1) * vocab, vocab).ToArray();
                var produced = new List<long>();
                for (var i = 0; i < expected.Length; i++)
                {
                    Goldens.AssertClose(expectedLogits.AsSpan(i * vocab, vocab), step, golden.Tolerance, $"prompt {name} greedy step {i} logits");
                    var token = ArgMax(step);
                    produced.Add(token);
                    decoder.Forward(state, DecoderInput.Token(token), step);
                }

                Assert.Equal(expected, produced);
            }
        }
    }

    /// <summary>Builds the decoder input of a golden prompt: ids, with each splice's rows from its embeddings file.
    /// A −200 sentinel (LLaVA, LongVA, AuroraCap) stands for a whole splice; MiniCPM-V and Aria repeat a placeholder id
    /// once per row, which the visual embeddings then cover.</summary>
    public static DecoderInput BuildInput(Goldens golden, System.Text.Json.JsonElement prompt, int hidden)
    {
        var length = golden.Floats(prompt.GetProperty("inputs_embeds").GetString()!).Shape[0];
        var rawIds = golden.Longs(prompt.GetProperty("input_ids").GetString()!);
        var splices = prompt.GetProperty("splice").EnumerateArray().ToList();
        var placed = splices.Select(s => new PlacedEmbeddings(
            s.GetProperty("embeds_offset").GetInt32(),
            new DenseTensor<float>(golden.Floats(s.GetProperty("source").GetString()!).Data, s.GetProperty("rows").GetInt32(), hidden))).ToList();
        if (rawIds.Length == length)
        {
            return new DecoderInput(rawIds.Select(i => (int)i).ToArray(), placed);
        }

        var ids = new List<int>(length);
        var next = 0;
        foreach (var id in rawIds)
        {
            if (id == -200)
            {
                ids.AddRange(Enumerable.Repeat(-200, placed[next++].Embeddings.Dimension(0)));
            }
            else
            {
                ids.Add((int)id);
            }
        }

        Assert.Equal(length, ids.Count);
        return new DecoderInput(ids.ToArray(), placed);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
